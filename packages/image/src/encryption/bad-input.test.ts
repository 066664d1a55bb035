import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeDigest, encodeManifest, type ImageManifest, MediaType } from '@concil/oci-spec';
import { buildFixtureLayout, type FixtureLayout } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copy } from '../copy.js';
import { ImageDirectory } from '../image-directory.js';
import { OciLayout } from '../oci-layout.js';
import { type KeyFiles, writeKeyPair } from '../testing/encryption-keys.js';
import { blobPath, imageIn } from '../testing/fixture-image.js';
import { decryptLayers, encryptLayers } from './encrypt-layers.js';
import { readDecryptionKey, readEncryptionKey } from './encryption-keys.js';
import { unwrapLayerKeys, wrapLayerKeys } from './key-wrap.js';
import {
  encodePrivateOptions,
  JWE_KEYS_ANNOTATION,
  PUBOPTS_ANNOTATION,
  parsePrivateOptions,
} from './layer-options.js';

let work: string;
let fixture: FixtureLayout;
let rsa: KeyFiles;
let ec: KeyFiles;
/** The fixture encrypted by concil for the RSA key. */
let encrypted: string;
let n = 0;
const fresh = (name: string) => join(work, `${name}-${n++}`);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-decrypt-'));
  fixture = await buildFixtureLayout(join(work, 'fixture'));
  [rsa, ec] = await Promise.all([
    writeKeyPair(work, 'rsa', { rsa: true }),
    writeKeyPair(work, 'ec', { curve: 'P-384' }),
  ]);
  encrypted = join(work, 'encrypted');
  await copy(new OciLayout(fixture.dir, 'latest'), new OciLayout(encrypted, 'v1'), {
    edit: encryptLayers([await readEncryptionKey(rsa.pub)]),
  });
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

type Layer = ImageManifest['layers'][number];

/**
 * A copy of the encrypted image whose top layer was changed by `change` (its bytes, its
 * annotations), the manifest and index.json rewritten to match: an image consistent in itself,
 * as an attacker or a broken encrypter would make it.
 */
async function changedImage(change: (layer: Layer, bytes: Buffer) => { layer: Layer; bytes: Buffer }) {
  const dir = fresh('changed');
  await cp(encrypted, dir, { recursive: true });
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
  const { manifest } = await imageIn(dir, index.manifests[0].digest);
  const top = manifest.layers[1]!;
  const changed = change(top, await readFile(blobPath(dir, top.digest)));
  const bytes = changed.bytes;
  const layer = { ...changed.layer, digest: computeDigest(bytes), size: bytes.length };
  await writeFile(blobPath(dir, layer.digest), bytes);
  const encoded = encodeManifest(
    { ...manifest, layers: [manifest.layers[0]!, layer] },
    MediaType.ociManifest,
  );
  await writeFile(blobPath(dir, encoded.descriptor.digest), encoded.bytes);
  index.manifests[0] = {
    ...index.manifests[0],
    digest: encoded.descriptor.digest,
    size: encoded.descriptor.size,
  };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
  return dir;
}

/** Decrypts `layout` into an image directory and an OCI layout; both must fail with `code`, leaving nothing decrypted. */
async function decryptFails(layout: string, key: KeyFiles, code: string, message: RegExp) {
  const keys = [await readDecryptionKey(key.priv)];
  const parent = fresh('dst');
  await cp(fixture.dir, join(parent, 'unrelated'), { recursive: true }); // a neighbour that must stay as it is
  const before = await readdir(parent, { recursive: true });
  const dir = join(parent, 'dir');
  await expect(
    copy(new OciLayout(layout, 'v1'), new ImageDirectory(dir), { edit: decryptLayers(keys) }),
  ).rejects.toMatchObject({
    code,
    message: expect.stringMatching(message),
  });
  expect(await readdir(parent, { recursive: true })).toEqual(before);
  const oci = join(parent, 'oci');
  await expect(
    copy(new OciLayout(layout, 'v1'), new OciLayout(oci, 'v1'), { edit: decryptLayers(keys) }),
  ).rejects.toMatchObject({
    code,
  });
  // No blob holds the top layer's plaintext, no temporary file is left; the manifest never came.
  const blobs = await readdir(join(oci, 'blobs', 'sha256')).catch(() => []);
  expect(blobs).not.toContain(fixture.images[0]!.layers[1]!.digest.slice('sha256:'.length));
  expect(blobs.filter((name) => name.endsWith('.tmp'))).toEqual([]);
  await expect(readdir(join(oci, 'index.json'))).rejects.toMatchObject({ code: 'ENOENT' });
}

describe('decrypting bad input: a clear error, nothing decrypted left behind', () => {
  it('a key the layers were not encrypted for: NOT_A_RECIPIENT, naming the layer and the key', async () => {
    const top = (
      await imageIn(
        encrypted,
        JSON.parse(await readFile(join(encrypted, 'index.json'), 'utf8')).manifests[0].digest,
      )
    ).manifest.layers[0]!;
    await decryptFails(
      encrypted,
      ec,
      'NOT_A_RECIPIENT',
      new RegExp(
        `none of the 1 decryption keys \\(${ec.priv}\\) opens layer (sha256:[0-9a-f]{64}), which is encrypted for 1 recipient`,
      ),
    );
    expect(top.mediaType).toBe(`${MediaType.ociLayerGzip}+encrypted`);
  });

  it('a flipped byte in the ciphertext: DECRYPTION_FAILED, the HMAC does not match', async () => {
    const layout = await changedImage((layer, bytes) => {
      bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
      return { layer, bytes };
    });
    await decryptFails(
      layout,
      rsa,
      'DECRYPTION_FAILED',
      /its HMAC does not match: the ciphertext was changed or cut short; nothing decrypted was kept/,
    );
  });

  it('a truncated layer: DECRYPTION_FAILED', async () => {
    const layout = await changedImage((layer, bytes) => ({
      layer,
      bytes: bytes.subarray(0, bytes.length - 100),
    }));
    await decryptFails(layout, rsa, 'DECRYPTION_FAILED', /its HMAC does not match/);
  });

  it('private options recording another plaintext digest (a sound HMAC): DECRYPTION_FAILED', async () => {
    const index = JSON.parse(await readFile(join(encrypted, 'index.json'), 'utf8'));
    const top = (await imageIn(encrypted, index.manifests[0].digest)).manifest.layers[1]!;
    const keys = [await readDecryptionKey(rsa.priv)];
    const options = parsePrivateOptions(
      await unwrapLayerKeys(top.annotations![JWE_KEYS_ANNOTATION], keys, top.digest),
      top.digest,
    );
    const wrapped = await wrapLayerKeys(encodePrivateOptions(options, fixture.images[0]!.layers[0]!.digest), [
      await readEncryptionKey(rsa.pub),
    ]);
    const layout = await changedImage((layer, bytes) => ({
      layer: { ...layer, annotations: { ...layer.annotations, [JWE_KEYS_ANNOTATION]: wrapped } },
      bytes,
    }));
    await decryptFails(
      layout,
      rsa,
      'DECRYPTION_FAILED',
      new RegExp(
        `decrypts to other content than its encryption recorded \\(${fixture.images[0]!.layers[0]!.digest}\\); nothing decrypted was kept`,
      ),
    );
  });

  it('a JWE with a key algorithm concil does not read: UNSUPPORTED, naming it', async () => {
    const layout = await changedImage((layer, bytes) => {
      const jwe = JSON.parse(Buffer.from(layer.annotations![JWE_KEYS_ANNOTATION]!, 'base64').toString());
      jwe.recipients[0].header.alg = 'RSA1_5';
      const annotations = {
        ...layer.annotations,
        [JWE_KEYS_ANNOTATION]: Buffer.from(JSON.stringify(jwe)).toString('base64'),
      };
      return { layer: { ...layer, annotations }, bytes };
    });
    await decryptFails(
      layout,
      rsa,
      'UNSUPPORTED',
      /wraps its key with "RSA1_5"; concil reads RSA-OAEP, RSA-OAEP-256, ECDH-ES\+A128KW/,
    );
  });

  for (const annotation of [JWE_KEYS_ANNOTATION, PUBOPTS_ANNOTATION]) {
    it(`a missing ${annotation} annotation: ENCRYPTION_INVALID, naming it`, async () => {
      const layout = await changedImage((layer, bytes) => {
        const { [annotation]: _gone, ...annotations } = layer.annotations!;
        return { layer: { ...layer, annotations }, bytes };
      });
      await decryptFails(
        layout,
        rsa,
        'ENCRYPTION_INVALID',
        new RegExp(`has no ${annotation.replaceAll('.', '\\.')} annotation`),
      );
    });
  }

  it('annotations in base64url (as the Python concil wrote them) are read too', async () => {
    const layout = await changedImage((layer, bytes) => {
      const url = (value: string) => Buffer.from(value, 'base64').toString('base64url');
      const annotations = {
        [JWE_KEYS_ANNOTATION]: url(layer.annotations![JWE_KEYS_ANNOTATION]!),
        [PUBOPTS_ANNOTATION]: url(layer.annotations![PUBOPTS_ANNOTATION]!),
      };
      return { layer: { ...layer, annotations }, bytes };
    });
    const dst = fresh('decrypted');
    const result = await copy(new OciLayout(layout, 'v1'), new OciLayout(dst, 'v1'), {
      edit: decryptLayers([await readDecryptionKey(rsa.priv)]),
    });
    const { manifest } = await imageIn(dst, result.descriptor.digest);
    expect(manifest.layers.map((l) => l.digest)).toEqual(fixture.images[0]!.layers.map((l) => l.digest));
  });
});
