import { computeDigest, type Descriptor, MediaType } from '@concil/oci-spec';

/** A Sigstore bundle's media type: the referrer's artifactType and its one layer's type. */
export const SIGSTORE_BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
/** The in-toto predicate type of a cosign image signature in a bundle. */
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

/** The empty config of an OCI artifact: `{}`. */
export const EMPTY_CONFIG_BYTES = Buffer.from('{}');
export const EMPTY_CONFIG: Descriptor = {
  mediaType: MediaType.ociEmpty,
  digest: computeDigest(EMPTY_CONFIG_BYTES),
  size: EMPTY_CONFIG_BYTES.length,
};

/**
 * The referrer manifest cosign 3 attaches a bundle with: an OCI artifact of type
 * `application/vnd.dev.sigstore.bundle.v0.3+json`, the empty config, the bundle as its one layer,
 * the signed image as its `subject`.
 */
export function bundleReferrerManifest(
  subject: Descriptor,
  bundle: Descriptor,
  created: string,
): { descriptor: Descriptor; bytes: Buffer } {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE,
      config: EMPTY_CONFIG,
      layers: [bundle],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      annotations: {
        'dev.sigstore.bundle.content': 'dsse-envelope',
        'dev.sigstore.bundle.predicateType': COSIGN_SIGN_PREDICATE_TYPE,
        'org.opencontainers.image.created': created,
      },
    }),
  );
  return {
    descriptor: {
      mediaType: MediaType.ociManifest,
      digest: computeDigest(bytes),
      size: bytes.length,
      artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE,
    },
    bytes,
  };
}
