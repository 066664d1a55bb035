import { type Descriptor, type ImageIndex, imageIndexSchema, parseJson, validate } from '@concil/oci-spec';
import { ImageError } from './errors.js';

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/** An OCI layout's `index.json`, parsed and validated. */
export function parseLayoutIndex(bytes: Uint8Array, subject: string): ImageIndex {
  return validate(
    imageIndexSchema,
    parseJson(bytes, 'MANIFEST_INVALID', subject),
    'MANIFEST_INVALID',
    subject,
  );
}

/**
 * The image an OCI layout's index names `reference` (its `org.opencontainers.image.ref.name`),
 * or its only image when no reference is given; an error lists what the layout holds.
 */
export function findInLayoutIndex(
  index: ImageIndex,
  reference: string | undefined,
  where: string,
  subject: string,
): Descriptor {
  const candidates = reference
    ? index.manifests.filter((m) => m.annotations?.[REF_NAME_ANNOTATION] === reference)
    : index.manifests;
  const found = candidates.length === 1 ? candidates[0] : undefined;
  if (found) return found;
  const names = index.manifests.map((m) => m.annotations?.[REF_NAME_ANNOTATION] ?? m.digest).join(', ');
  throw new ImageError(
    'NOT_FOUND',
    reference
      ? `${where}: no image tagged "${reference}" (the layout holds: ${names || 'nothing'})`
      : `${where}: the layout holds ${index.manifests.length} images (${names || 'none'}); name one with :TAG`,
    subject,
  );
}
