import { execFile } from 'node:child_process';
import { createHash, createPublicKey, type KeyObject, sign } from 'node:crypto';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { computeDigest, type Descriptor, MediaType, parseManifest } from '@concil/oci-spec';
import { openRegistryTarget, type RegistryTarget } from '@concil/registry-client';
import { ensureTools, startFaultProxy, startRegistry, type TestRegistry } from '@concil/testkit';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { DSSEBundleBuilder } from '@sigstore/sign';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushTinyImage } from '../test-helpers/tiny-image.js';
import { bundleReferrerManifest, EMPTY_CONFIG, SIGSTORE_BUNDLE_MEDIA_TYPE } from './bundle-attachment.js';
import { signImageBundle } from './bundle-sign.js';
import { encodeSignStatement } from './bundle-statement.js';
import { verifyBundles } from './bundle-verify.js';
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

/** PUTs a manifest straight to the registry's HTTP API: our client plays no part. */
async function rawPut(repository: string, reference: string, mediaType: string, body: Buffer): Promise<void> {
  const response = await fetch(`${registry.url}/v2/${repository}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'content-type': mediaType },
    body,
  });
  expect(response.status).toBe(201);
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

  it('embeds the bundle in its referrer and the referrer in the tag schema index (data); skopeo and our schemas read both', async () => {
    const skopeo = (await ensureTools(['skopeo'])).skopeo!;
    const { target, image } = await freshImage('bundle/embedded');
    const signed = await signImageBundle(target, image, { key: keys[0]!.privateKey });
    const raw = async (reference: string) =>
      (
        await promisify(execFile)(skopeo, [
          'inspect',
          '--raw',
          '--tls-verify=false',
          `docker://${registry.host}/bundle/embedded@${reference}`,
        ])
      ).stdout;
    const referrerText = await raw(signed.referrer.digest);
    expect(computeDigest(referrerText)).toBe(signed.referrer.digest);
    const referrer = parseManifest(Buffer.from(referrerText), MediaType.ociManifest, signed.referrer.digest);
    expect(referrer.kind === 'manifest' && referrer.manifest.layers).toEqual([
      { ...signed.bundle, data: signed.bundleBytes.toString('base64') },
    ]);
    // skopeo cannot name the tag schema's tag `sha256-<hex>` (it takes it for a digest): read by digest.
    const indexDigest = (await target.resolve(`sha256-${image.digest.slice(7)}`)).digest;
    const index = parseManifest(Buffer.from(await raw(indexDigest)), MediaType.ociIndex, indexDigest);
    expect(index.kind === 'index' && index.index.manifests).toEqual([
      {
        ...signed.referrer,
        annotations: expect.any(Object),
        data: Buffer.from(referrerText).toString('base64'),
      },
    ]);
  });

  it("verifies concil's bundle with one request beyond the manifest on the tag schema (two with the referrers API), cosign's with three", async () => {
    const concil = await freshImage('bundle/count-concil');
    const signed = await signImageBundle(concil.target, concil.image, { key: keys[0]!.privateKey });
    // As cosign writes it: the referrer and the tag schema index PUT as they are, nothing embedded.
    const cosign = await freshImage('bundle/count-cosign');
    const bytes = await sigstoreBundle(cosignStatement(cosign.image.digest), keys[0]!.privateKey);
    const layer = { mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE, digest: computeDigest(bytes), size: bytes.length };
    await cosign.target.push(layer, Readable.from([bytes]));
    await cosign.target.push(EMPTY_CONFIG, Readable.from([Buffer.from('{}')]));
    const referrer = bundleReferrerManifest(cosign.image, layer, '2026-12-03T00:00:00Z');
    await rawPut('bundle/count-cosign', referrer.descriptor.digest, MediaType.ociManifest, referrer.bytes);
    const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [referrer.descriptor] };
    await rawPut(
      'bundle/count-cosign',
      `sha256-${cosign.image.digest.slice(7)}`,
      MediaType.ociIndex,
      Buffer.from(JSON.stringify(index)),
    );
    const proxy = await startFaultProxy(registry.url);
    try {
      const requests = async (repository: string, image: Descriptor) => {
        const target = openRegistryTarget(`docker://${proxy.host}/${repository}:1`);
        const expected = { manifestDigest: image.digest, identity: `${registry.host}/${repository}` };
        await verifyBundles(target, image, expected, [keys[0]!.trusted]); // learns there is no referrers API
        proxy.requests.length = 0;
        const verdicts = await verifyBundles(target, image, expected, [keys[0]!.trusted]);
        expect(verdicts.map((v) => v.valid)).toEqual([true]);
        return proxy.requests.map((r) => `${r.method} ${r.url.replace(/[0-9a-f]{64}/g, 'HEX')}`);
      };
      expect(await requests('bundle/count-concil', concil.image)).toEqual([
        'GET /v2/bundle/count-concil/manifests/sha256-HEX',
      ]);
      expect(await requests('bundle/count-cosign', cosign.image)).toEqual([
        'GET /v2/bundle/count-cosign/manifests/sha256-HEX',
        'GET /v2/bundle/count-cosign/manifests/sha256:HEX',
        'GET /v2/bundle/count-cosign/blobs/sha256:HEX',
      ]);
      // A registry with the referrers API (the proxy answers for docker-registry 2.8) lists the
      // referrer as a registry does, without its content.
      const list = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [signed.referrer] };
      proxy.inject({
        kind: 'status',
        status: 200,
        times: 2,
        headers: { 'content-type': MediaType.ociIndex },
        body: JSON.stringify(list),
        match: { method: 'GET', path: /\/referrers\// },
      });
      expect(await requests('bundle/count-concil', concil.image)).toEqual([
        `GET /v2/bundle/count-concil/referrers/sha256:HEX?artifactType=${encodeURIComponent(SIGSTORE_BUNDLE_MEDIA_TYPE)}`,
        'GET /v2/bundle/count-concil/manifests/sha256:HEX',
      ]);
    } finally {
      await proxy.stop();
    }
  });

  it('refuses embedded content that is not what its digest names, and does not fetch it instead', async () => {
    const { target, image } = await freshImage('bundle/embedded-bad');
    const good = await sigstoreBundle(cosignStatement(image.digest), keys[0]!.privateKey);
    const layer = { mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE, digest: computeDigest(good), size: good.length };
    await target.push(layer, Readable.from([good]));
    await target.push(EMPTY_CONFIG, Readable.from([Buffer.from('{}')]));
    // A bundle of the same size in the layer's data, not the bytes its digest names.
    const forged = Buffer.from(good.toString().replace(/"payload":"./, (m) => `${m.slice(0, -1)}A`));
    expect(forged.length).toBe(good.length);
    const referrer = bundleReferrerManifest(
      image,
      { ...layer, data: forged.toString('base64') },
      '2026-12-03T00:00:00Z',
    );
    await target.push(referrer.descriptor, Readable.from([referrer.bytes]));
    const proxy = await startFaultProxy(registry.url);
    try {
      const proxied = openRegistryTarget(`docker://${proxy.host}/bundle/embedded-bad:1`);
      const expected = { manifestDigest: image.digest, identity: `${registry.host}/bundle/embedded-bad` };
      expect(await verifyBundles(proxied, image, expected, [keys[0]!.trusted])).toEqual([
        {
          valid: false,
          rejection: 'PAYLOAD_DIGEST_MISMATCH',
          message: `the bundle embedded in its descriptor (data) is not the bytes ${layer.digest} names`,
          referrer: referrer.descriptor.digest,
        },
      ]);

      // The tag schema index altered: its descriptor's data is not the referrer manifest.
      const tag = `sha256-${image.digest.slice(7)}`;
      const other = Buffer.from(referrer.bytes.toString().replace('2026-12-03', '2026-12-04'));
      const index = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.ociIndex,
          manifests: [{ ...referrer.descriptor, data: other.toString('base64') }],
        }),
      );
      await rawPut('bundle/embedded-bad', tag, MediaType.ociIndex, index);
      proxy.requests.length = 0;
      expect(await verifyBundles(proxied, image, expected, [keys[0]!.trusted])).toEqual([
        {
          valid: false,
          rejection: 'BUNDLE_INVALID',
          message: `the referrer manifest embedded in the referrers list (data) is not the manifest ${referrer.descriptor.digest} names`,
          referrer: referrer.descriptor.digest,
        },
      ]);
      expect(proxy.requests.map((r) => r.url)).toEqual([`/v2/bundle/embedded-bad/manifests/${tag}`]);
    } finally {
      await proxy.stop();
    }
  });
});
