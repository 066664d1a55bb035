import { computeDigest, type Descriptor, MediaType, parseDigest } from '@concil/oci-spec';

/** The tag cosign attaches an image's classic signatures under: `sha256-<hex>.sig`. */
export function signatureTag(manifestDigest: string): string {
  const { algorithm, hex } = parseDigest(manifestDigest);
  return `${algorithm}-${hex}.sig`;
}

/** A signature image's manifest and config, as bytes with their descriptors. */
export interface SignatureImage {
  manifest: Descriptor;
  manifestBytes: Buffer;
  config: Descriptor;
  configBytes: Buffer;
}

// go-containerregistry's zero time: cosign records no creation time by default.
const ZERO_TIME = '0001-01-01T00:00:00Z';

/**
 * The signature image cosign writes around its layers: an OCI manifest whose config is the
 * image config go-containerregistry makes for an empty image with these layers appended (one
 * diff_id and one history entry per layer; the payloads are uncompressed, so diff_id = digest).
 * Serialised in Go's field order so the bytes match what cosign pushes.
 */
export function buildSignatureImage(layers: readonly Descriptor[]): SignatureImage {
  const configBytes = Buffer.from(
    JSON.stringify({
      architecture: '',
      created: ZERO_TIME,
      history: layers.map(() => ({ created: ZERO_TIME })),
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) },
      config: {},
    }),
  );
  const config: Descriptor = {
    mediaType: MediaType.ociConfig,
    size: configBytes.length,
    digest: computeDigest(configBytes),
  };
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: goDescriptor(config),
      layers: layers.map(goDescriptor),
    }),
  );
  const manifest: Descriptor = {
    mediaType: MediaType.ociManifest,
    size: manifestBytes.length,
    digest: computeDigest(manifestBytes),
  };
  return { manifest, manifestBytes, config, configBytes };
}

/** A descriptor with go-containerregistry's field order: mediaType, size, digest, annotations. */
function goDescriptor(desc: Descriptor): Record<string, unknown> {
  return {
    mediaType: desc.mediaType,
    size: desc.size,
    digest: desc.digest,
    ...(desc.annotations && Object.keys(desc.annotations).length > 0 && { annotations: desc.annotations }),
  };
}
