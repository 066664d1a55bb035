import type { KeyObject } from 'node:crypto';
import type { ReadOnlyTarget, Target } from '@concil/oci-spec';
import { RegistryTarget } from '@concil/registry-client';
import type { SignImageResult } from '@concil/trust';
import { type CopyOptions, type CopyResult, copy } from './copy.js';
import { encryptLayers } from './encryption/encrypt-layers.js';
import type { EncryptionKey } from './encryption/encryption-keys.js';
import { ImageError } from './errors.js';

export interface PublishOptions extends Omit<CopyOptions, 'all' | 'preserveDigests' | 'keepSources'> {
  /**
   * Encrypt every layer for these public keys on the way up (after any `edit`, in the same pass);
   * the published image is then a new one, with its own digest.
   */
  encryption?: readonly EncryptionKey[];
  /** Sign the published root (the index, or the one image) with this cosign key, after the tag. */
  sign?: { key: KeyObject; annotations?: Record<string, string> };
}

export interface PublishResult extends CopyResult {
  /** The cosign signature attached, when `sign` was given. */
  signature?: SignImageResult;
}

/**
 * Publishes an image to a registry: the one copy with a registry's defaults. The whole image is
 * published (every platform of an index, unless `platform` picks one), its blobs as the registry
 * lacks them (a HEAD each, a cross-repository mount from the same registry, uploads in chunks
 * above 64 MiB), its manifests byte for byte unless edited or encrypted, the root last, then the
 * tag; then, with `sign`, a cosign signature of the root. A failed copy tags nothing.
 */
export async function publish(
  src: ReadOnlyTarget,
  dst: Target,
  options: PublishOptions = {},
): Promise<PublishResult> {
  if (!(dst instanceof RegistryTarget)) {
    throw new ImageError(
      'TARGET_INVALID',
      `publish writes to a registry, and ${dst.name} is none: give docker://host/repo:tag, or use copy for other destinations`,
      dst.name,
    );
  }
  const { encryption, sign, ...copyOptions } = options;
  const edit = encryption?.length
    ? encryptLayers(encryption, { ...(options.edit && { after: options.edit }) })
    : options.edit;
  const result = await copy(src, dst, {
    ...copyOptions,
    ...(edit && { edit }),
    all: options.platform === undefined,
  });
  if (!sign) return result;
  try {
    // Loaded only to sign: every other command that loads this package does without it.
    const { signImage } = await import('@concil/trust');
    const signature = await signImage(dst, result.descriptor, {
      key: sign.key,
      ...(sign.annotations && { annotations: sign.annotations }),
      ...(options.signal && { signal: options.signal }),
    });
    return { ...result, signature };
  } catch (error) {
    throw new ImageError(
      'SIGN_FAILED',
      `${dst.name} was published as ${result.descriptor.digest}, but signing it failed: ${(error as Error).message}; sign it again with concil sign`,
      result.descriptor.digest,
      { cause: error },
    );
  }
}
