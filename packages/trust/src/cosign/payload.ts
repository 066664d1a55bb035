import { parseReference } from '@concil/oci-spec';

/** The media type of a classic cosign signature's layer: the simple-signing payload. */
export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
/** The layer annotation holding the base64 ECDSA signature over the payload bytes. */
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';

/** What a simple-signing payload claims: this repository's manifest of this digest. */
export interface SimpleSigningPayload {
  /** `critical.identity.docker-reference`: the repository (cosign), with a tag (containers/image). */
  dockerReference: string;
  /** `critical.image.docker-manifest-digest`. */
  manifestDigest: string;
  /** `optional`: annotations the signer added, or null. */
  optional: Record<string, unknown> | null;
}

/** The payload bytes as cosign writes them (its field order, `optional` null when there is none). */
export function encodePayload(payload: SimpleSigningPayload): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': payload.dockerReference },
        image: { 'docker-manifest-digest': payload.manifestDigest },
        type: COSIGN_SIGNATURE_TYPE,
      },
      optional: payload.optional,
    }),
  );
}

/** Parses payload bytes; undefined when they are no cosign simple-signing payload. */
export function parsePayload(bytes: Uint8Array): SimpleSigningPayload | undefined {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
  const critical = (json as { critical?: Record<string, unknown> } | null)?.critical;
  const identity = critical?.identity as { 'docker-reference'?: unknown } | undefined;
  const image = critical?.image as { 'docker-manifest-digest'?: unknown } | undefined;
  const dockerReference = identity?.['docker-reference'];
  const manifestDigest = image?.['docker-manifest-digest'];
  if (critical?.type !== COSIGN_SIGNATURE_TYPE) return undefined;
  if (typeof dockerReference !== 'string' || typeof manifestDigest !== 'string') return undefined;
  const optional = (json as { optional?: unknown }).optional;
  return {
    dockerReference,
    manifestDigest,
    optional:
      typeof optional === 'object' && optional !== null && !Array.isArray(optional)
        ? (optional as Record<string, unknown>)
        : null,
  };
}

/**
 * The repository a docker reference names, for comparing identities: `host/path` with Docker
 * Hub spelled one way, tag and digest dropped. Undefined when it is no reference.
 */
export function repositoryOf(reference: string): string | undefined {
  try {
    const parsed = parseReference(reference);
    return `${parsed.registry}/${parsed.repository}`;
  } catch {
    return undefined;
  }
}
