import { parseDigest } from '@concil/oci-spec';
import { COSIGN_SIGN_PREDICATE_TYPE, IN_TOTO_STATEMENT_TYPE } from './bundle-attachment.js';
import { COSIGN_SIGNATURE_TYPE } from './payload.js';

/**
 * The in-toto statement a cosign bundle signs: the image digest as its subject, predicate type
 * `https://sigstore.dev/cosign/sign/v1`, and as predicate the simple-signing claims (the
 * repository and digest, `optional`), so the repository is signed as in a classic signature.
 */
export function encodeSignStatement(
  manifestDigest: string,
  dockerReference: string,
  optional: Record<string, string> | null,
): Buffer {
  const { algorithm, hex } = parseDigest(manifestDigest);
  return Buffer.from(
    JSON.stringify({
      _type: IN_TOTO_STATEMENT_TYPE,
      subject: [{ name: dockerReference, digest: { [algorithm]: hex } }],
      predicateType: COSIGN_SIGN_PREDICATE_TYPE,
      predicate: {
        critical: {
          identity: { 'docker-reference': dockerReference },
          image: { 'docker-manifest-digest': manifestDigest },
          type: COSIGN_SIGNATURE_TYPE,
        },
        optional,
      },
    }),
  );
}

/** What a signed statement claims, as far as the verifier checks it. */
export interface SignStatementClaims {
  predicateType: string;
  /** `algorithm:hex` of every subject. */
  subjectDigests: string[];
  /** The predicate's `critical.identity.docker-reference`, when it names one (cosign's may not). */
  dockerReference?: string;
  /** The predicate's `critical.image.docker-manifest-digest`, when it names one. */
  manifestDigest?: string;
}

/** Parses a statement; undefined when it is no in-toto statement. */
export function parseSignStatement(bytes: Uint8Array): SignStatementClaims | undefined {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
  const statement = json as {
    _type?: unknown;
    subject?: unknown;
    predicateType?: unknown;
    predicate?: { critical?: { identity?: Record<string, unknown>; image?: Record<string, unknown> } };
  } | null;
  if (typeof statement?._type !== 'string' || !statement._type.startsWith('https://in-toto.io/Statement/')) {
    return undefined;
  }
  if (typeof statement.predicateType !== 'string' || !Array.isArray(statement.subject)) return undefined;
  const subjectDigests: string[] = [];
  for (const subject of statement.subject as { digest?: Record<string, unknown> }[]) {
    for (const [algorithm, hex] of Object.entries(subject?.digest ?? {})) {
      if (typeof hex === 'string') subjectDigests.push(`${algorithm}:${hex}`);
    }
  }
  const reference = statement.predicate?.critical?.identity?.['docker-reference'];
  const digest = statement.predicate?.critical?.image?.['docker-manifest-digest'];
  return {
    predicateType: statement.predicateType,
    subjectDigests,
    ...(typeof reference === 'string' && { dockerReference: reference }),
    ...(typeof digest === 'string' && { manifestDigest: digest }),
  };
}
