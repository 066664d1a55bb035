import { type KeyObject, verify } from 'node:crypto';
import { keyFingerprint } from './keys.js';
import { parsePayload, repositoryOf, type SimpleSigningPayload } from './payload.js';

/** A public key the verifier trusts, with the name it reports signers by (key ID or file). */
export interface TrustedKey {
  name: string;
  key: KeyObject;
}

/** Why one signature does not count. */
export type SignatureRejection =
  /** The layer carries no signature annotation, or one that is no base64. */
  | 'SIGNATURE_MISSING'
  /** No trusted key verifies the signature: another key made it, or the payload was altered. */
  | 'KEY_UNKNOWN'
  /** The payload blob is not the bytes its descriptor names. */
  | 'PAYLOAD_DIGEST_MISMATCH'
  /** The payload is no cosign simple-signing payload (a bundle's: no cosign sign statement). */
  | 'PAYLOAD_INVALID'
  /** A Sigstore bundle that is no valid bundle (truncated, not JSON, fields missing). */
  | 'BUNDLE_INVALID'
  /** Signed, but for another manifest digest (moved from another image, or the manifest changed). */
  | 'OTHER_DIGEST'
  /** Signed, but for another repository. */
  | 'OTHER_REPOSITORY';

export interface SignatureVerdict {
  valid: boolean;
  /** Set when `valid` is false. */
  rejection?: SignatureRejection;
  /** One line: who signed what, or why it does not count. */
  message: string;
  /** The trusted key that verified the signature (also on a rejection for digest or repository). */
  signer?: { name: string; fingerprint: string };
  payload?: SimpleSigningPayload;
  /** The digest of the payload layer (a classic signature). */
  layerDigest?: string;
  /** The referrer manifest that carries the bundle (a Sigstore bundle). */
  referrer?: string;
}

/** What a signature must name to count. */
export interface ExpectedClaim {
  manifestDigest: string;
  /** The repository (`host/repo`, a tag or digest is ignored) the payload must name. */
  identity: string;
}

/**
 * Checks one classic signature as cosign does: the ECDSA-SHA256 signature over the exact
 * payload bytes against each trusted key, then the payload's claims: the manifest digest
 * exactly, and the repository (a tag in the payload's reference, as containers/image writes,
 * does not matter when verifying by digest).
 */
export function checkSignature(
  payloadBytes: Uint8Array,
  signatureBase64: string | undefined,
  expected: ExpectedClaim,
  keys: readonly TrustedKey[],
): SignatureVerdict {
  const signature = decodeSignature(signatureBase64);
  if (!signature) {
    return reject('SIGNATURE_MISSING', 'the layer carries no cosign signature annotation');
  }
  const signer = keys.find(({ key }) => verifySafely(payloadBytes, key, signature));
  if (!signer) return keyUnknown(keys, 'the signature', 'the payload');
  const by = { name: signer.name, fingerprint: keyFingerprint(signer.key) };
  const payload = parsePayload(payloadBytes);
  if (!payload) {
    return {
      ...reject('PAYLOAD_INVALID', 'the signed payload is no cosign simple-signing payload'),
      signer: by,
    };
  }
  if (payload.manifestDigest !== expected.manifestDigest) {
    return {
      ...reject(
        'OTHER_DIGEST',
        `signed by ${by.name} for ${payload.manifestDigest}, not for ${expected.manifestDigest}`,
      ),
      signer: by,
      payload,
    };
  }
  const signedRepository = repositoryOf(payload.dockerReference);
  if (signedRepository === undefined || signedRepository !== repositoryOf(expected.identity)) {
    return {
      ...reject(
        'OTHER_REPOSITORY',
        `signed by ${by.name} for the repository ${payload.dockerReference}, not ${expected.identity}`,
      ),
      signer: by,
      payload,
    };
  }
  return {
    valid: true,
    message: `signed by ${by.name} for ${payload.dockerReference}@${payload.manifestDigest}`,
    signer: by,
    payload,
  };
}

/** No trusted key verifies `what` (`the signature`, `the bundle`): another key, or `signed` altered. */
export function keyUnknown(keys: readonly TrustedKey[], what: string, signed: string): SignatureVerdict {
  return reject(
    'KEY_UNKNOWN',
    `no trusted key (${keys.map((k) => k.name).join(', ') || 'none given'}) verifies ${what}: another key made it, or ${signed} was altered`,
  );
}

export function reject(rejection: SignatureRejection, message: string): SignatureVerdict {
  return { valid: false, rejection, message };
}

function decodeSignature(text: string | undefined): Buffer | undefined {
  if (!text || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length > 0 ? bytes : undefined;
}

function verifySafely(payload: Uint8Array, key: KeyObject, signature: Buffer): boolean {
  try {
    return verify('sha256', payload, { key, dsaEncoding: 'der' }, signature);
  } catch {
    return false; // a signature that is no DER ECDSA signature verifies with no key
  }
}
