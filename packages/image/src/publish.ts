import type { KeyObject } from 'node:crypto';
import { isTag, type ReadOnlyTarget, type Target } from '@concil/oci-spec';
import { RegistryTarget } from '@concil/registry-client';
import type { NotaryConfig, NotaryKeyOptions, NotarySignedTag, SignImageResult } from '@concil/trust';
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
  /**
   * Sign the published tag in the registry's Notary server (the configuration's
   * `remote_servers[host].notary`; keys under `notary_path`), after the tag and any cosign
   * signature. The destination must name a tag, and the registry a Notary server: both are
   * checked before anything is pushed.
   */
  notary?: { config: NotaryConfig } & NotaryKeyOptions;
}

export interface PublishResult extends CopyResult {
  /** The cosign signature attached, when `sign` was given. */
  signature?: SignImageResult;
  /** The Notary signature of the tag, when `notary` was given. */
  notary?: NotarySignedTag;
}

/**
 * Publishes an image to a registry: the one copy with a registry's defaults. The whole image is
 * published (every platform of an index, unless `platform` picks one), its blobs as the registry
 * lacks them (a HEAD each, a cross-repository mount from the same registry, uploads in chunks
 * above 64 MiB), its manifests byte for byte unless edited or encrypted, the root last, then the
 * tag; then, with `sign`, a cosign signature of the root, and with `notary`, the tag signed in
 * the registry's Notary server. A failed copy tags nothing.
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
  const { encryption, sign, notary, ...copyOptions } = options;
  if (notary) await checkNotaryTag(dst, notary.config);
  const edit = encryption?.length
    ? encryptLayers(encryption, { ...(options.edit && { after: options.edit }) })
    : options.edit;
  const result: PublishResult = await copy(src, dst, {
    ...copyOptions,
    ...(edit && { edit }),
    all: options.platform === undefined,
  });
  if (sign) {
    // Loaded only to sign: every other command that loads this package does without it.
    const { signImage } = await import('@concil/trust');
    result.signature = await signedAfterPublish(dst, result, 'signing it failed', 'concil sign', () =>
      signImage(dst, result.descriptor, {
        key: sign.key,
        ...(sign.annotations && { annotations: sign.annotations }),
        ...(options.signal && { signal: options.signal }),
      }),
    );
  }
  if (notary) {
    const { signNotaryTag } = await import('@concil/trust');
    const { config, ...keys } = notary;
    result.notary = await signedAfterPublish(
      dst,
      result,
      'signing its tag in Notary failed',
      `concil notary-publish ${dst.name}`,
      () =>
        signNotaryTag(
          config,
          { registry: dst.registry, repository: dst.repository, tag: dst.defaultReference },
          result.descriptor,
          keys,
        ),
    );
  }
  return result;
}

/** Notary signs tags, in the server configured for the registry: both are checked before the push. */
async function checkNotaryTag(dst: RegistryTarget, config: NotaryConfig): Promise<void> {
  if (!isTag(dst.defaultReference)) {
    throw new ImageError(
      'TARGET_INVALID',
      `Notary signs tags, and ${dst.name} names none: publish to docker://host/repo:tag`,
      dst.name,
    );
  }
  const { requireNotaryServer } = await import('@concil/trust');
  requireNotaryServer(config, dst.registry);
}

/** A signature made after the push: its failure says that the image is published, and how to sign it. */
async function signedAfterPublish<T>(
  dst: RegistryTarget,
  result: CopyResult,
  failed: string,
  again: string,
  sign: () => Promise<T>,
): Promise<T> {
  try {
    return await sign();
  } catch (error) {
    throw new ImageError(
      'SIGN_FAILED',
      `${dst.name} was published as ${result.descriptor.digest}, but ${failed}: ${(error as Error).message}; sign it again with ${again}`,
      result.descriptor.digest,
      { cause: error },
    );
  }
}
