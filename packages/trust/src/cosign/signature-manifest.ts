import {
  type Descriptor,
  type FetchOptions,
  fetchReferencedManifest,
  type ImageManifest,
  isNotFound,
  type ReadOnlyTarget,
} from '@concil/oci-spec';
import { TrustError } from '../errors.js';
import { signatureTag } from './signature-image.js';

/** The signature manifest found under an image's `.sig` tag. */
export interface FoundSignatureManifest {
  tag: string;
  descriptor: Descriptor;
  manifest: ImageManifest;
}

/** The `.sig` manifest of a manifest digest, or undefined when the image carries none. */
export async function findSignatureManifest(
  target: ReadOnlyTarget,
  manifestDigest: string,
  options: FetchOptions = {},
): Promise<FoundSignatureManifest | undefined> {
  const tag = signatureTag(manifestDigest);
  const found = await fetchReferencedManifest(target, tag, options).catch((error: unknown) => {
    if (isNotFound(error)) return undefined;
    throw error;
  });
  if (!found) return undefined;
  const { descriptor, manifest: parsed } = found;
  if (descriptor.digest === manifestDigest) {
    // A target that ignores the reference (an image directory holds one image and no tags).
    throw new TrustError(
      'UNSUPPORTED',
      `${target.name} holds no tags, so it cannot hold cosign signatures (${tag}); sign and verify the image in a registry or an OCI layout`,
      target.name,
    );
  }
  if (parsed.kind !== 'manifest') {
    throw new TrustError(
      'SIGNATURE_INVALID',
      `${target.name}: the tag ${tag} holds an index, not a cosign signature manifest; remove or replace that tag`,
      target.name,
    );
  }
  return { tag, descriptor, manifest: parsed.manifest };
}
