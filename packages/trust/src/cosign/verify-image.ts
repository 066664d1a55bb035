import type { Descriptor, FetchOptions, ReadOnlyTarget } from '@concil/oci-spec';
import { TrustError } from '../errors.js';
import { verifyBundles } from './bundle-verify.js';
import { checkSignature, type SignatureVerdict, type TrustedKey } from './check-signature.js';
import { fetchAttachment } from './fetch-attachment.js';
import { SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE } from './payload.js';
import { signatureTag } from './signature-image.js';
import { findSignatureManifest } from './signature-manifest.js';
import { identityOf } from './target-identity.js';

export interface VerifyImageOptions extends FetchOptions {
  keys: readonly TrustedKey[];
  /** The repository the signatures must name; by default the target's (`host/repo`). */
  identity?: string;
  /** Also the Sigstore bundles among the manifest's referrers (true by default). */
  bundles?: boolean;
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
  /**
   * One verdict per simple-signing layer, in the manifest's order (other layers are ignored), then
   * one per Sigstore bundle among the manifest's referrers (those carry `referrer`).
   */
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
  const [classic, bundles] = await Promise.all([
    Promise.all(
      layers.map(async (layer): Promise<SignatureVerdict> => {
        const verdict = await checkLayer(target, layer, expected, options.keys, fetchOptions);
        return { ...verdict, layerDigest: layer.digest };
      }),
    ),
    options.bundles === false ? [] : verifyBundles(target, manifest, expected, options.keys, fetchOptions),
  ]);
  const signatures = [...classic, ...bundles];
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
  const payload = await fetchAttachment(target, layer, 'simple-signing payload', options);
  if (!(payload instanceof Uint8Array)) return payload;
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
    : `not signed (no cosign signature under the tag ${result.tag}, no Sigstore bundle among its referrers)`;
  throw new TrustError(
    'VERIFICATION_FAILED',
    `${subject} does not verify: ${why}; sign it with a trusted key (concil sign) or trust the key that signed it`,
    subject,
  );
}
