import { createHash, createPublicKey, type KeyObject, sign } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  computeDigest,
  type Descriptor,
  type FetchOptions,
  type Target,
  withEmbeddedContent,
} from '@concil/oci-spec';
import {
  bundleReferrerManifest,
  EMPTY_CONFIG,
  EMPTY_CONFIG_BYTES,
  IN_TOTO_PAYLOAD_TYPE,
  SIGSTORE_BUNDLE_MEDIA_TYPE,
} from './bundle-attachment.js';
import { encodeSignStatement } from './bundle-statement.js';
import { publicKeyPem } from './keys.js';
import { pushIfMissing } from './push-if-missing.js';
import { identityOf } from './target-identity.js';

export interface SignBundleOptions extends FetchOptions {
  key: KeyObject;
  /** The repository the statement names; by default the target's (`host/repo`). */
  identity?: string;
  annotations?: Record<string, string>;
  /** The referrer's creation time; now by default. */
  created?: Date;
}

export interface SignBundleResult {
  /** The referrer manifest (its `subject` is the image). */
  referrer: Descriptor;
  /** The bundle blob, its one layer. */
  bundle: Descriptor;
  bundleBytes: Buffer;
}

/**
 * Signs a manifest as cosign 3 does by default: a Sigstore bundle (v0.3, made by sigstore-js's
 * DSSE bundle builder; key-signed, no transparency log) over an in-toto statement naming the
 * digest, attached as a referrer of the image. The registry's referrers API takes it, or — where
 * it has none — the referrers tag schema index `sha256-<hex>` (the registry client keeps it).
 */
export async function signImageBundle(
  target: Target,
  manifest: Descriptor,
  options: SignBundleOptions,
): Promise<SignBundleResult> {
  const { DSSEBundleBuilder, bundleToJSON } = await import('./sigstore.js');
  const statement = encodeSignStatement(
    manifest.digest,
    options.identity ?? identityOf(target),
    options.annotations ?? null,
  );
  const publicKey = createPublicKey(options.key);
  const pem = publicKeyPem(publicKey);
  // The key's hint: the sha256 of its PKIX DER (the verifier tries every trusted key anyway).
  const hint = createHash('sha256')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('base64');
  const builder = new DSSEBundleBuilder({
    witnesses: [],
    signer: {
      sign: async (data: Buffer) => ({
        signature: sign('sha256', data, { key: options.key, dsaEncoding: 'der' }),
        key: { $case: 'publicKey', publicKey: pem, hint },
      }),
    },
  });
  const bundle = await builder.create({ data: statement, type: IN_TOTO_PAYLOAD_TYPE });
  const bundleBytes = Buffer.from(JSON.stringify(bundleToJSON(bundle)));
  const layer: Descriptor = {
    mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE,
    digest: computeDigest(bundleBytes),
    size: bundleBytes.length,
  };
  const fetchOptions = options.signal ? { signal: options.signal } : {};
  const created = (options.created ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  // The bundle rides in the referrer's layer descriptor too: a verifier needs no request for it.
  const referrer = bundleReferrerManifest(manifest, withEmbeddedContent(layer, bundleBytes), created);
  await pushIfMissing(target, layer, bundleBytes, fetchOptions);
  await pushIfMissing(target, EMPTY_CONFIG, EMPTY_CONFIG_BYTES, fetchOptions);
  await target.push(referrer.descriptor, Readable.from([referrer.bytes]), fetchOptions);
  return { referrer: referrer.descriptor, bundle: layer, bundleBytes };
}
