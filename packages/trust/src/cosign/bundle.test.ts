import { createHash, createPublicKey, type KeyObject, sign } from 'node:crypto';
import { Readable } from 'node:stream';
import { computeDigest, type Descriptor, MediaType } from '@concil/oci-spec';
import { openRegistryTarget, type RegistryTarget } from '@concil/registry-client';
import { startRegistry, type TestRegistry } from '@concil/testkit';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { DSSEBundleBuilder } from '@sigstore/sign';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushTinyImage } from '../test-helpers/tiny-image.js';
import { bundleReferrerManifest, EMPTY_CONFIG, SIGSTORE_BUNDLE_MEDIA_TYPE } from './bundle-attachment.js';
import { signImageBundle } from './bundle-sign.js';
import { encodeSignStatement } from './bundle-statement.js';
import type { TrustedKey } from './check-signature.js';
import { generateCosignKeyPair, readPrivateKey, readPublicKey } from './keys.js';
import { verifyImage } from './verify-image.js';

let registry: TestRegistry;
const keys: { privateKey: KeyObject; trusted: TrustedKey }[] = [];

beforeAll(async () => {
  registry = await startRegistry();
  for (const name of ['alice', 'mallory']) {
    const pair = await generateCosignKeyPair('pw');
    keys.push({
      privateKey: await readPrivateKey(pair.privateKeyPem, { password: 'pw' }, name),
      trusted: { name, key: readPublicKey(pair.publicKeyPem, name) },
    });
  }
});
afterAll(async () => {
  await registry?.stop();
});

async function freshImage(repository: string): Promise<{ target: RegistryTarget; image: Descriptor }> {
  const target = openRegistryTarget(`docker://${registry.host}/${repository}:1`);
  return { target, image: await pushTinyImage(target, repository, '1') };
}

/** Reads straight from the registry's HTTP API: our client plays no part. */
async function rawJson(
  repository: string,
  reference: string,
  accept: string,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${registry.url}/v2/${repository}/manifests/${reference}`, {
    headers: { accept },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

/** A bundle made by sigstore-js's DSSE bundle builder alone, over the given statement. */
async function sigstoreBundle(statement: Buffer, key: KeyObject): Promise<Buffer> {
  const pem = createPublicKey(key).export({ format: 'pem', type: 'spki' }).toString();
  const builder = new DSSEBundleBuilder({
    witnesses: [],
    signer: {
      sign: async (data) => ({
        signature: sign('sha256', data, { key, dsaEncoding: 'der' }),
        key: { $case: 'publicKey', publicKey: pem, hint: 'test' },
      }),
    },
  });
  const bundle = await builder.create({ data: statement, type: 'application/vnd.in-toto+json' });
  return Buffer.from(JSON.stringify(bundleToJSON(bundle)));
}

/** Attaches bundle bytes to an image as cosign does (a referrer with the bundle as its layer). */
async function attach(target: RegistryTarget, image: Descriptor, bytes: Buffer): Promise<void> {
  const layer = { mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE, digest: computeDigest(bytes), size: bytes.length };
  await target.push(layer, Readable.from([bytes]));
  await target.push(EMPTY_CONFIG, Readable.from([Buffer.from('{}')]));
  const referrer = bundleReferrerManifest(image, layer, '2026-12-03T00:00:00Z');
  await target.push(referrer.descriptor, Readable.from([referrer.bytes]));
}

/** cosign's statement: the digest as subject, an empty predicate (no repository in it). */
function cosignStatement(digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ digest: { sha256: digest.slice(7) } }],
      predicateType: 'https://sigstore.dev/cosign/sign/v1',
      predicate: {},
    }),
  );
}

describe('Sigstore bundles', () => {
  it('signs with a bundle under the referrers tag schema (docker-registry 2.8 has no referrers API), and verifies it', async () => {
    const { target, image } = await freshImage('bundle/signed');
    const signed = await signImageBundle(target, image, { key: keys[0]!.privateKey });
    // The registry has no referrers API …
    const api = await fetch(`${registry.url}/v2/bundle/signed/referrers/${image.digest}`);
    expect(api.status).toBe(404);
    // … so the referrer is listed in the tag schema index, read here without our client.
    const index = await rawJson('bundle/signed', `sha256-${image.digest.slice(7)}`, MediaType.ociIndex);
    expect(index.manifests).toEqual([
      expect.objectContaining({ digest: signed.referrer.digest, artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE }),
    ]);
    const referrer = await rawJson('bundle/signed', signed.referrer.digest, MediaType.ociManifest);
    expect(referrer).toMatchObject({
      artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', size: 2 },
      layers: [{ mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE, digest: signed.bundle.digest }],
      subject: { digest: image.digest },
      annotations: { 'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1' },
    });
    // The bundle is what sigstore-js reads as a v0.3 bundle with a DSSE envelope and the key's hint.
    const bundle = bundleFromJSON(JSON.parse(signed.bundleBytes.toString()));
    expect(bundle.mediaType).toBe(SIGSTORE_BUNDLE_MEDIA_TYPE);
    expect(bundle.content.$case).toBe('dsseEnvelope');
    const hint = createHash('sha256')
      .update(keys[0]!.trusted.key.export({ format: 'der', type: 'spki' }))
      .digest('base64');
    expect(bundle.verificationMaterial.content).toEqual({ $case: 'publicKey', publicKey: { hint } });

    const result = await verifyImage(target, image, { keys: [keys[0]!.trusted] });
    expect(result).toMatchObject({ signed: true, verified: true });
    expect(result.signatures).toEqual([
      expect.objectContaining({
        valid: true,
        referrer: signed.referrer.digest,
        message: `bundle signed by alice for ${registry.host}/bundle/signed@${image.digest}`,
      }),
    ]);
  });

  it("verifies a bundle made by sigstore-js's own signer over cosign's statement (no repository in it)", async () => {
    const { target, image } = await freshImage('bundle/cosign-form');
    await attach(target, image, await sigstoreBundle(cosignStatement(image.digest), keys[0]!.privateKey));
    const result = await verifyImage(target, image, { keys: [keys[0]!.trusted] });
    expect(result.verified).toBe(true);
    expect(result.signatures[0]!.message).toBe(
      `bundle signed by alice for ${registry.host}/bundle/cosign-form@${image.digest}`,
    );
  });

  it('refuses bad bundles, each with its reason', async () => {
    const { target, image } = await freshImage('bundle/bad');
    const other = await freshImage('bundle/other');
    const good = await sigstoreBundle(cosignStatement(image.digest), keys[0]!.privateKey);
    const cases: [string, Buffer][] = [
      ['truncated', good.subarray(0, good.length - 40)],
      ['other key', await sigstoreBundle(cosignStatement(image.digest), keys[1]!.privateKey)],
      ['other digest', await sigstoreBundle(cosignStatement(other.image.digest), keys[0]!.privateKey)],
      [
        'other repository',
        await sigstoreBundle(
          encodeSignStatement(image.digest, `${registry.host}/bundle/other`, null),
          keys[0]!.privateKey,
        ),
      ],
      [
        'an attestation',
        await sigstoreBundle(
          Buffer.from(
            JSON.stringify({
              _type: 'https://in-toto.io/Statement/v1',
              subject: [{ digest: { sha256: image.digest.slice(7) } }],
              predicateType: 'https://slsa.dev/provenance/v1',
              predicate: {},
            }),
          ),
          keys[0]!.privateKey,
        ),
      ],
    ];
    for (const [, bytes] of cases) await attach(target, image, bytes);
    const result = await verifyImage(target, image, { keys: [keys[0]!.trusted] });
    expect(result.verified).toBe(false);
    const verdicts = result.signatures.map((s) => `${s.rejection}: ${s.message}`).sort();
    expect(verdicts).toHaveLength(5);
    expect(verdicts[0]).toMatch(/^BUNDLE_INVALID: the bundle is no valid Sigstore bundle \(.+\)$/);
    expect(verdicts.slice(1)).toEqual(
      [
        'KEY_UNKNOWN: no trusted key (alice) verifies the bundle: another key made it, or the statement was altered',
        `OTHER_DIGEST: bundle signed by alice for ${other.image.digest}, not for ${image.digest}`,
        `OTHER_REPOSITORY: bundle signed by alice for the repository ${registry.host}/bundle/other, not ${registry.host}/bundle/bad`,
        'PAYLOAD_INVALID: the bundle signed by alice holds an attestation of type https://slsa.dev/provenance/v1, not a cosign image signature',
      ].sort(),
    );
  });
});
