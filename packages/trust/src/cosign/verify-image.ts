import { type Descriptor, type FetchOptions, fetchBytes, type ReadOnlyTarget } from '@concil/oci-spec';
import { TrustError } from '../errors.js';
import { checkSignature, type SignatureVerdict, type TrustedKey } from './check-signature.js';
import { SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE } from './payload.js';
import { signatureTag } from './signature-image.js';
import { findSignatureManifest } from './signature-manifest.js';
import { identityOf } from './target-identity.js';

/** Payloads are a few hundred bytes; a larger layer is no signature worth fetching. */
const MAX_PAYLOAD_BYTES = 1024 * 1024;

export interface VerifyImageOptions extends FetchOptions {
  keys: readonly TrustedKey[];
  /** The repository the signatures must name; by default the target's (`host/repo`). */
  identity?: string;
}

export interface ImageVerification {
  manifestDigest: string;
  identity: string;
  /** The `.sig` tag looked at. */
  tag: string;
  /** False when there is no `.sig` manifest (or it holds no simple-signing layer). */
  signed: boolean;
  /** True when at least one signature is valid. */
  verified: boolean;
  /** One verdict per simple-signing layer, in the manifest's order (other layers are ignored). */
  signatures: SignatureVerdict[];
}

/**
 * Verifies the classic cosign signatures of a manifest held by a target: finds the `.sig`
 * manifest, and checks each simple-signing layer's payload (its digest, the signature against
 * the trusted keys, the digest and repository it names). One valid signature verifies the image.
 */
export async function verifyImage(
  target: ReadOnlyTarget,
  manifest: Pick<Descriptor, 'digest'>,
  options: VerifyImageOptions,
): Promise<ImageVerification> {
  const identity = options.identity ?? identityOf(target);
  const fetchOptions = options.signal ? { signal: options.signal } : {};
  const found = await findSignatureManifest(target, manifest.digest, fetchOptions);
  const layers = (found?.manifest.layers ?? []).filter((l) => l.mediaType === SIMPLE_SIGNING_MEDIA_TYPE);
  const expected = { manifestDigest: manifest.digest, identity };
  const signatures = await Promise.all(
    layers.map(async (layer): Promise<SignatureVerdict> => {
      const verdict = await checkLayer(target, layer, expected, options.keys, fetchOptions);
      return { ...verdict, layerDigest: layer.digest };
    }),
  );
  return {
    manifestDigest: manifest.digest,
    identity,
    tag: signatureTag(manifest.digest),
    signed: signatures.length > 0,
    verified: signatures.some((s) => s.valid),
    signatures,
  };
}

async function checkLayer(
  target: ReadOnlyTarget,
  layer: Descriptor,
  expected: { manifestDigest: string; identity: string },
  keys: readonly TrustedKey[],
  options: FetchOptions,
): Promise<SignatureVerdict> {
  if (layer.size > MAX_PAYLOAD_BYTES) {
    return {
      valid: false,
      rejection: 'PAYLOAD_INVALID',
      message: `a payload of ${layer.size} bytes is no simple-signing payload`,
    };
  }
  let payload: Uint8Array;
  try {
    payload = await fetchBytes(target, layer, options);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'DIGEST_INVALID' && code !== 'SIZE_INVALID') throw error;
    return {
      valid: false,
      rejection: 'PAYLOAD_DIGEST_MISMATCH',
      message: `the payload blob is not the bytes ${layer.digest} names`,
    };
  }
  return checkSignature(payload, layer.annotations?.[SIGNATURE_ANNOTATION], expected, keys);
}

/**
 * Throws `VERIFICATION_FAILED` unless the verification found a valid signature; the message
 * names the image, the digest and why each signature does not count.
 */
export function requireVerified(result: ImageVerification, reference: string): void {
  if (result.verified) return;
  const subject = `${reference}@${result.manifestDigest}`;
  const why = result.signed
    ? result.signatures.map((s) => s.message).join('; ')
    : `not signed (no cosign signature under the tag ${result.tag})`;
  throw new TrustError(
    'VERIFICATION_FAILED',
    `${subject} does not verify: ${why}; sign it with a trusted key (concil sign) or trust the key that signed it`,
    subject,
  );
}
