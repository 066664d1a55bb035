import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { computeDigest, type ImageManifest, MediaType } from '@concil/oci-spec';
import { buildFixtureLayout, type FixtureLayout } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertLayers } from '../convert-layers.js';
import { copy } from '../copy.js';
import { OciLayout } from '../oci-layout.js';
import { type KeyFiles, writeKeyPair } from '../testing/encryption-keys.js';
import { blobPath, imageIn, run } from '../testing/fixture-image.js';
import { squashfsTree, tarTree } from '../testing/layer-tree.js';
import { addRecipients, decryptLayers, encryptLayers } from './encrypt-layers.js';
import { readDecryptionKey, readEncryptionKey } from './encryption-keys.js';
import { JWE_KEYS_ANNOTATION, PUBOPTS_ANNOTATION } from './layer-options.js';

let work: string;
let fixture: FixtureLayout;
let rsa: KeyFiles;
let ec256: KeyFiles;
let ec521: KeyFiles;
let n = 0;
const fresh = (name: string) => join(work, `${name}-${n++}`);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-encrypt-'));
  fixture = await buildFixtureLayout(join(work, 'fixture'));
  [rsa, ec256, ec521] = await Promise.all([
    writeKeyPair(work, 'rsa', { rsa: true }),
    writeKeyPair(work, 'ec256', { curve: 'P-256' }),
    writeKeyPair(work, 'ec521', { curve: 'P-521' }),
  ]);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Encrypts the fixture with concil for the public keys given; returns the layout written. */
async function concilEncrypts(keys: KeyFiles[], options: Parameters<typeof encryptLayers>[1] = {}) {
  const dst = fresh('encrypted');
  const recipients = await Promise.all(keys.map((k) => readEncryptionKey(k.pub)));
  const result = await copy(new OciLayout(fixture.dir, 'latest'), new OciLayout(dst, 'v1'), {
    edit: encryptLayers(recipients, options),
  });
  return { dst, ...(await imageIn(dst, result.descriptor.digest)) };
}

/** `skopeo copy --encryption-key jwe:PUB…` of the fixture into `encrypted`. */
async function skopeoEncrypts(encrypted: string, ...keys: KeyFiles[]) {
  const flags = keys.flatMap((key) => ['--encryption-key', `jwe:${key.pub}`]);
  await run('skopeo', ['copy', ...flags, `oci:${fixture.dir}:latest`, `oci:${encrypted}:v1`]);
}

async function manifestOf(layout: string): Promise<ImageManifest> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
  return (await imageIn(layout, index.manifests[0].digest)).manifest;
}

/** The fixture's layers after a round trip: blob digests and the digests of their tars. */
async function layersOf(layout: string) {
  const manifest = await manifestOf(layout);
  const blobs = await Promise.all(manifest.layers.map((l) => readFile(blobPath(layout, l.digest))));
  return {
    mediaTypes: manifest.layers.map((l) => l.mediaType),
    digests: blobs.map((b) => computeDigest(b)),
    diffIds: blobs.map((b) => computeDigest(gunzipSync(b))),
    annotations: manifest.layers.map((l) => l.annotations),
  };
}

const original = () => ({
  mediaTypes: [MediaType.ociLayerGzip, MediaType.ociLayerGzip],
  digests: fixture.images[0]!.layers.map((l) => l.digest),
  diffIds: fixture.images[0]!.diffIds,
  annotations: [undefined, undefined],
});

describe('concil encrypts, skopeo decrypts', () => {
  for (const [name, keys] of [
    ['RSA', () => rsa],
    ['EC P-256', () => ec256],
    ['EC P-521', () => ec521],
  ] as const) {
    it(`for an ${name} key: ocicrypt's format, and skopeo gets the original layers back`, async () => {
      const { dst, manifest, config } = await concilEncrypts([keys()]);
      expect(manifest.layers.map((l) => l.mediaType)).toEqual([
        `${MediaType.ociLayerGzip}+encrypted`,
        `${MediaType.ociLayerGzip}+encrypted`,
      ]);
      // The config keeps the plaintext diff_ids, as ocicrypt and containers/image do.
      expect(config.rootfs.diff_ids).toEqual(fixture.images[0]!.diffIds);
      for (const layer of manifest.layers) {
        const pubopts = JSON.parse(Buffer.from(layer.annotations![PUBOPTS_ANNOTATION]!, 'base64').toString());
        expect(Object.keys(pubopts)).toEqual(['cipher', 'hmac', 'cipheroptions']);
        expect(pubopts.cipher).toBe('AES_256_CTR_HMAC_SHA256');
        expect(Buffer.from(pubopts.hmac, 'base64')).toHaveLength(32);
        expect(pubopts.cipheroptions).toEqual({});
        const jwe = JSON.parse(Buffer.from(layer.annotations![JWE_KEYS_ANNOTATION]!, 'base64').toString());
        expect(jwe.recipients).toHaveLength(1);
        expect(jwe.recipients[0].header.alg).toBe(name === 'RSA' ? 'RSA-OAEP' : 'ECDH-ES+A256KW');
        expect(JSON.parse(Buffer.from(jwe.protected, 'base64url').toString()).enc).toBe('A256GCM');
      }
      const decrypted = fresh('skopeo-decrypted');
      await run('skopeo', ['copy', '--decryption-key', keys().priv, `oci:${dst}:v1`, `oci:${decrypted}:v1`]);
      expect(await layersOf(decrypted)).toEqual(original());
    });
  }

  it('for two recipients: each private key alone decrypts', async () => {
    const { dst, manifest } = await concilEncrypts([rsa, ec521]);
    const jwe = JSON.parse(
      Buffer.from(manifest.layers[0]!.annotations![JWE_KEYS_ANNOTATION]!, 'base64').toString(),
    );
    expect(jwe.recipients.map((r: { header: { alg: string } }) => r.header.alg)).toEqual([
      'RSA-OAEP',
      'ECDH-ES+A256KW',
    ]);
    for (const key of [rsa, ec521]) {
      const decrypted = fresh('skopeo-decrypted');
      await run('skopeo', ['copy', '--decryption-key', key.priv, `oci:${dst}:v1`, `oci:${decrypted}:v1`]);
      expect(await layersOf(decrypted)).toEqual(original());
    }
  });

  it('the chosen layers only (-1: the last)', async () => {
    const { dst, manifest } = await concilEncrypts([ec256], { layers: [-1] });
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([
      MediaType.ociLayerGzip,
      `${MediaType.ociLayerGzip}+encrypted`,
    ]);
    expect(manifest.layers[0]!.digest).toBe(fixture.images[0]!.layers[0]!.digest);
    const decrypted = fresh('skopeo-decrypted');
    await run('skopeo', ['copy', '--decryption-key', ec256.priv, `oci:${dst}:v1`, `oci:${decrypted}:v1`]);
    expect(await layersOf(decrypted)).toEqual(original());
  });

  it('converted to squashfs and encrypted in one pass: skopeo decrypts to those squashfs layers', async () => {
    const { dst, manifest, config } = await concilEncrypts([rsa], { after: convertLayers('squashfs') });
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([
      `${MediaType.ociLayerSquashfs}+encrypted`,
      `${MediaType.ociLayerSquashfs}+encrypted`,
    ]);
    const decrypted = fresh('skopeo-decrypted');
    await run('skopeo', ['copy', '--decryption-key', rsa.priv, `oci:${dst}:v1`, `oci:${decrypted}:v1`]);
    const back = await manifestOf(decrypted);
    // concil's convention: a squashfs layer's diff_id is its (plaintext) blob's digest.
    expect(back.layers.map((l) => [l.mediaType, l.digest])).toEqual(
      config.rootfs.diff_ids.map((diffId) => [MediaType.ociLayerSquashfs, diffId]),
    );
    for (const [i, layer] of back.layers.entries()) {
      const tree = await squashfsTree(blobPath(decrypted, layer.digest));
      expect(tree).toEqual(
        await tarTree(
          gunzipSync(await readFile(blobPath(fixture.dir, fixture.images[0]!.layers[i]!.digest))),
        ),
      );
    }
  });
});

describe('skopeo encrypts, concil decrypts', () => {
  for (const [name, keys] of [
    ['RSA', () => rsa],
    ['EC P-521', () => ec521],
  ] as const) {
    it(`for an ${name} key: the original layers, their annotations gone`, async () => {
      const encrypted = fresh('skopeo-encrypted');
      await run('skopeo', [
        'copy',
        '--encryption-key',
        `jwe:${keys().pub}`,
        `oci:${fixture.dir}:latest`,
        `oci:${encrypted}:v1`,
      ]);
      expect((await manifestOf(encrypted)).layers.map((l) => l.mediaType)).toEqual([
        `${MediaType.ociLayerGzip}+encrypted`,
        `${MediaType.ociLayerGzip}+encrypted`,
      ]);
      const decrypted = fresh('concil-decrypted');
      const result = await copy(new OciLayout(encrypted, 'v1'), new OciLayout(decrypted, 'v1'), {
        edit: decryptLayers([await readDecryptionKey(keys().priv)]),
      });
      expect(result.layersTransformed).toBe(2);
      expect(await layersOf(decrypted)).toEqual(original());
      const { config } = await imageIn(decrypted, result.descriptor.digest);
      expect(config.rootfs.diff_ids).toEqual(fixture.images[0]!.diffIds);
    });
  }

  it('decrypted and converted to squashfs in one pass: each layer unpacks to the tree of its tar', async () => {
    const encrypted = fresh('skopeo-encrypted');
    await skopeoEncrypts(encrypted, ec521);
    const decrypted = fresh('concil-squashfs');
    const result = await copy(new OciLayout(encrypted, 'v1'), new OciLayout(decrypted, 'v1'), {
      edit: decryptLayers([await readDecryptionKey(ec521.priv)], { followedBy: convertLayers('squashfs') }),
    });
    const { manifest, config } = await imageIn(decrypted, result.descriptor.digest);
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([
      MediaType.ociLayerSquashfs,
      MediaType.ociLayerSquashfs,
    ]);
    expect(config.rootfs.diff_ids).toEqual(manifest.layers.map((l) => l.digest));
    for (const [i, layer] of manifest.layers.entries()) {
      expect(layer.annotations).toBeUndefined();
      const original = await readFile(blobPath(fixture.dir, fixture.images[0]!.layers[i]!.digest));
      expect(await squashfsTree(blobPath(decrypted, layer.digest))).toEqual(
        await tarTree(gunzipSync(original)),
      );
    }
  });

  it('for two recipients: either key alone', async () => {
    const encrypted = fresh('skopeo-encrypted');
    await skopeoEncrypts(encrypted, rsa, ec256);
    for (const key of [rsa, ec256]) {
      const decrypted = fresh('concil-decrypted');
      await copy(new OciLayout(encrypted, 'v1'), new OciLayout(decrypted, 'v1'), {
        edit: decryptLayers([await readDecryptionKey(key.priv)]),
      });
      expect(await layersOf(decrypted)).toEqual(original());
    }
  });
});

describe('a recipient added to encrypted layers', () => {
  it('opens them with skopeo, as the first key still does; the encrypted blobs are the same bytes', async () => {
    const encrypted = fresh('skopeo-encrypted');
    await skopeoEncrypts(encrypted, rsa);
    const before = await manifestOf(encrypted);
    const widened = fresh('widened');
    const result = await copy(new OciLayout(encrypted, 'v1'), new OciLayout(widened, 'v1'), {
      edit: addRecipients([await readEncryptionKey(ec521.pub)], [await readDecryptionKey(rsa.priv)]),
    });
    expect(result.layersTransformed).toBe(2);
    const after = (await imageIn(widened, result.descriptor.digest)).manifest;
    expect(after.layers.map((l) => [l.mediaType, l.digest, l.size])).toEqual(
      before.layers.map((l) => [l.mediaType, l.digest, l.size]),
    );
    for (const [i, layer] of after.layers.entries()) {
      // ocicrypt's form: the old JWE as it was, a comma, a new JWE for the new recipient.
      const [old, added, ...more] = layer.annotations![JWE_KEYS_ANNOTATION]!.split(',');
      expect(old).toBe(before.layers[i]!.annotations![JWE_KEYS_ANNOTATION]);
      expect(more).toEqual([]);
      const jwe = JSON.parse(Buffer.from(added!, 'base64').toString());
      expect(jwe.recipients.map((r: { header: { alg: string } }) => r.header.alg)).toEqual([
        'ECDH-ES+A256KW',
      ]);
      expect(layer.annotations![PUBOPTS_ANNOTATION]).toBe(before.layers[i]!.annotations![PUBOPTS_ANNOTATION]);
    }
    for (const key of [ec521, rsa]) {
      const decrypted = fresh('skopeo-decrypted');
      await run('skopeo', ['copy', '--decryption-key', key.priv, `oci:${widened}:v1`, `oci:${decrypted}:v1`]);
      expect(await layersOf(decrypted)).toEqual(original());
    }
  });

  it('needs a key that opens the layers now: NOT_A_RECIPIENT, nothing written', async () => {
    const encrypted = fresh('skopeo-encrypted');
    await skopeoEncrypts(encrypted, rsa);
    const widened = fresh('widened');
    await expect(
      copy(new OciLayout(encrypted, 'v1'), new OciLayout(widened, 'v1'), {
        edit: addRecipients([await readEncryptionKey(ec521.pub)], [await readDecryptionKey(ec256.priv)]),
      }),
    ).rejects.toMatchObject({ code: 'NOT_A_RECIPIENT' });
    await expect(readFile(join(widened, 'index.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('of an image with no encrypted layer: PLAN_INVALID', async () => {
    await expect(
      copy(new OciLayout(fixture.dir, 'latest'), new OciLayout(fresh('plain'), 'v1'), {
        edit: addRecipients([await readEncryptionKey(ec521.pub)], [await readDecryptionKey(rsa.priv)]),
      }),
    ).rejects.toMatchObject({ code: 'PLAN_INVALID' });
  });
});
