import type * as v from 'valibot';
import type { Descriptor } from './descriptor.js';
import { computeDigest } from './digest.js';
import { OciSpecError } from './errors.js';
import { indexMediaTypes, MediaType, manifestMediaTypes } from './media-types.js';
import { imageIndexSchema, imageManifestSchema } from './schemas.js';
import { parseJson, validate } from './validate.js';

export type ImageManifest = v.InferOutput<typeof imageManifestSchema>;
export type ImageIndex = v.InferOutput<typeof imageIndexSchema>;

/** A manifest or index as parsed, with the exact bytes it came from (never re-serialised). */
export type ParsedManifest =
  | { kind: 'manifest'; mediaType: string; manifest: ImageManifest; bytes: Uint8Array }
  | { kind: 'index'; mediaType: string; index: ImageIndex; bytes: Uint8Array };

/**
 * Parses untrusted manifest bytes. The media type comes from the document itself, else from
 * the transport (a registry's Content-Type), else from its shape, as the OCI spec allows.
 */
export function parseManifest(
  bytes: Uint8Array,
  transportMediaType?: string,
  subject?: string,
): ParsedManifest {
  const json = parseJson(bytes, 'MANIFEST_INVALID', subject ?? 'manifest');
  const declared =
    typeof json === 'object' && json !== null && 'mediaType' in json && typeof json.mediaType === 'string'
      ? json.mediaType
      : undefined;
  const mediaType = declared ?? usableTransportType(transportMediaType) ?? guessMediaType(json);
  if (isAmbiguous(json)) {
    // CVE-2021-41190 (GHSA-77vh-xpmg-72qh): a document that reads as both manifest and index can mean different
    // images to different clients, so it is refused whatever its media type says.
    throw new OciSpecError(
      'MANIFEST_INVALID',
      `${subject ?? 'manifest'} has both "manifests" and "config" or "layers": it is ambiguous between an index and an image manifest and is refused`,
      subject,
    );
  }
  if (mediaType === MediaType.dockerSchema1 || mediaType === MediaType.dockerSchema1Signed) {
    throw new OciSpecError(
      'UNSUPPORTED',
      `${subject ?? 'manifest'} is a Docker schema 1 manifest, which is deprecated and not supported; re-push the image with a current tool`,
      subject,
    );
  }
  if (indexMediaTypes.includes(mediaType)) {
    const index = validate(imageIndexSchema, json, 'MANIFEST_INVALID', subject ?? 'index');
    return { kind: 'index', mediaType, index, bytes };
  }
  if (manifestMediaTypes.includes(mediaType)) {
    const manifest = validate(imageManifestSchema, json, 'MANIFEST_INVALID', subject ?? 'manifest');
    return { kind: 'manifest', mediaType, manifest, bytes };
  }
  throw new OciSpecError(
    'MANIFEST_INVALID',
    `${subject ?? 'manifest'} has media type "${mediaType}", which is neither an image manifest nor an index`,
    subject,
  );
}

function usableTransportType(mediaType: string | undefined): string | undefined {
  const bare = mediaType?.split(';')[0]?.trim();
  return bare && bare !== 'application/json' && bare !== 'application/octet-stream' ? bare : undefined;
}

function isAmbiguous(json: unknown): boolean {
  return (
    typeof json === 'object' && json !== null && 'manifests' in json && ('config' in json || 'layers' in json)
  );
}

function guessMediaType(json: unknown): string {
  if (typeof json === 'object' && json !== null) {
    if ('manifests' in json) return MediaType.ociIndex;
    if ('config' in json) return MediaType.ociManifest;
    if ('schemaVersion' in json && json.schemaVersion === 1) return MediaType.dockerSchema1;
  }
  return 'unknown';
}

/** Serialises a manifest we create; its descriptor carries the digest of exactly these bytes. */
export function encodeManifest(
  document: ImageManifest | ImageIndex,
  mediaType: string,
): {
  bytes: Uint8Array;
  descriptor: Descriptor;
} {
  const bytes = new TextEncoder().encode(JSON.stringify(document));
  return { bytes, descriptor: { mediaType, digest: computeDigest(bytes), size: bytes.byteLength } };
}
