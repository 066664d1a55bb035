import { type KeyObject, sign } from 'node:crypto';
import { Readable } from 'node:stream';
import { computeDigest, type Descriptor, type FetchOptions, type Target } from '@concil/oci-spec';
import { encodePayload, SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE } from './payload.js';
import { pushIfMissing } from './push-if-missing.js';
import { buildSignatureImage, signatureTag } from './signature-image.js';
import { findSignatureManifest } from './signature-manifest.js';
import { identityOf } from './target-identity.js';

export interface SignImageOptions extends FetchOptions {
  /** The ECDSA P-256 private key (see `readPrivateKey`). */
  key: KeyObject;
  /** The payload's `docker-reference`; by default the target's repository (`host/repo`). */
  identity?: string;
  /** The payload's `optional` annotations (cosign's `-a key=value`). */
  annotations?: Record<string, string>;
}

export interface SignImageResult {
  /** The tag the signature manifest sits under: `sha256-<hex>.sig`. */
  tag: string;
  /** The signature manifest now under that tag. */
  signatureManifest: Descriptor;
  /** The layer holding this signature's payload. */
  layer: Descriptor;
  /** How many signatures the manifest holds now, this one included (the last). */
  signatureCount: number;
}

/**
 * Signs a manifest the classic cosign way: an ECDSA-SHA256 signature over a simple-signing
 * payload, attached as a layer of the manifest under `sha256-<hex>.sig`. Signatures already
 * there are kept; the new one is appended, as cosign does.
 */
export async function signImage(
  target: Target,
  manifest: Descriptor,
  options: SignImageOptions,
): Promise<SignImageResult> {
  const payload = encodePayload({
    dockerReference: options.identity ?? identityOf(target),
    manifestDigest: manifest.digest,
    optional: options.annotations ?? null,
  });
  const signature = sign('sha256', payload, { key: options.key, dsaEncoding: 'der' }).toString('base64');
  const layer: Descriptor = {
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    size: payload.length,
    digest: computeDigest(payload),
    annotations: { [SIGNATURE_ANNOTATION]: signature },
  };
  const fetchOptions = options.signal ? { signal: options.signal } : {};
  const existing = await findSignatureManifest(target, manifest.digest, fetchOptions);
  const tag = signatureTag(manifest.digest);
  const image = buildSignatureImage([...(existing?.manifest.layers ?? []), layer]);
  await pushIfMissing(target, layer, payload, fetchOptions);
  await pushIfMissing(target, image.config, image.configBytes, fetchOptions);
  await target.push(image.manifest, Readable.from([image.manifestBytes]), fetchOptions);
  await target.tag(image.manifest, tag);
  return {
    tag,
    signatureManifest: image.manifest,
    layer,
    signatureCount: (existing?.manifest.layers.length ?? 0) + 1,
  };
}
