import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFixtureLayout, type FixtureLayout } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copy } from '../copy.js';
import { OciLayout } from '../oci-layout.js';
import { example } from '../readme-encryption.example.js';
import { writeKeyPair } from '../testing/encryption-keys.js';
import { imageIn } from '../testing/fixture-image.js';
import { decryptLayers, encryptLayers } from './encrypt-layers.js';
import {
  generateEncryptionKey,
  parseDecryptionKey,
  parseEncryptionKey,
  readDecryptionKey,
  readEncryptionKey,
} from './encryption-keys.js';

let work: string;
let fixture: FixtureLayout;
let n = 0;
const fresh = (name: string) => join(work, `${name}-${n++}`);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-keys-'));
  fixture = await buildFixtureLayout(join(work, 'fixture'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Encrypts the fixture for `pub` and decrypts it with `priv` (both concil); the layers come back. */
async function roundTrip(
  pub: Parameters<typeof encryptLayers>[0],
  priv: Parameters<typeof decryptLayers>[0],
) {
  const encrypted = fresh('encrypted');
  const decrypted = fresh('decrypted');
  await copy(new OciLayout(fixture.dir, 'latest'), new OciLayout(encrypted, 'v1'), {
    edit: encryptLayers(pub),
  });
  const result = await copy(new OciLayout(encrypted, 'v1'), new OciLayout(decrypted, 'v1'), {
    edit: decryptLayers(priv),
  });
  const { manifest } = await imageIn(decrypted, result.descriptor.digest);
  expect(manifest.layers.map((l) => l.digest)).toEqual(fixture.images[0]!.layers.map((l) => l.digest));
}

const text = (s: string) => new TextEncoder().encode(s);

describe('encryption keys', () => {
  it('runs the README example: the layers come back as they were', async () => {
    const keys = await writeKeyPair(work, 'readme', { curve: 'P-521' });
    const plain = fresh('readme-plain');
    const src = fresh('readme-src'); // the example reads the tag v1
    await copy(new OciLayout(fixture.dir, 'latest'), new OciLayout(src, 'v1'));
    const result = await example(src, fresh('readme-encrypted'), plain, keys);
    const { manifest } = await imageIn(plain, result.descriptor.digest);
    expect(manifest.layers.map((l) => l.digest)).toEqual(fixture.images[0]!.layers.map((l) => l.digest));
  });

  for (const [name, make] of [
    ['RSA', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
    ['EC P-384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' })],
  ] as const) {
    it(`${name} keys as JWK, public and private`, async () => {
      const { publicKey, privateKey } = make();
      const pub = parseEncryptionKey(text(JSON.stringify(publicKey.export({ format: 'jwk' }))), 'pub.jwk');
      expect(pub.algorithm).toBe(name === 'RSA' ? 'RSA-OAEP' : 'ECDH-ES+A256KW');
      const priv = await parseDecryptionKey(
        text(JSON.stringify(privateKey.export({ format: 'jwk' }))),
        'priv.jwk',
      );
      await roundTrip([pub], [priv]);
    });
  }

  it("a JWK's own alg is used when ocicrypt accepts it, refused otherwise", async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' });
    const pub = parseEncryptionKey(text(JSON.stringify({ ...jwk, alg: 'RSA-OAEP-256' })), 'pub.jwk');
    expect(pub.algorithm).toBe('RSA-OAEP-256');
    await roundTrip(
      [pub],
      [
        await parseDecryptionKey(
          text(privateKey.export({ type: 'pkcs1', format: 'pem' }) as string),
          'rsa.pem',
        ),
      ],
    );
    expect(() => parseEncryptionKey(text(JSON.stringify({ ...jwk, alg: 'RSA1_5' })), 'old.jwk')).toThrow(
      expect.objectContaining({
        code: 'KEY_INVALID',
        message: expect.stringContaining('the key old.jwk asks for the JWE algorithm RSA1_5'),
      }),
    );
  });

  it('an encrypted private PEM opens with its password, asked for only then', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'sesame',
    });
    const path = join(work, 'locked.pem');
    await writeFile(path, pem);
    await expect(readDecryptionKey(path)).rejects.toMatchObject({
      code: 'KEY_INVALID',
      message: `the key ${path} is encrypted: give its password (--key-password-file)`,
    });
    const wrong = await readDecryptionKey(path, { password: () => 'open' }).catch((error: Error) => error);
    expect(wrong).toMatchObject({
      code: 'KEY_INVALID',
      message: `the key ${path} does not open with the password given`,
    });
    expect(JSON.stringify(wrong)).not.toContain('open"');
    const asked: string[] = [];
    const key = await readDecryptionKey(path, {
      password: () => {
        asked.push(path);
        return 'sesame';
      },
    });
    expect(asked).toEqual([path]);
    const pub = parseEncryptionKey(
      text(publicKey.export({ type: 'spki', format: 'pem' }) as string),
      'pub.pem',
    );
    await roundTrip([pub], [key]);
  });

  it('keys of other kinds, files that hold no key, and absent files: KEY_INVALID naming the file', async () => {
    const ed = generateKeyPairSync('ed25519');
    expect(() =>
      parseEncryptionKey(text(ed.publicKey.export({ type: 'spki', format: 'pem' }) as string), 'ed.pub'),
    ).toThrow(
      expect.objectContaining({
        code: 'KEY_INVALID',
        message: 'the key ed.pub is a ed25519 key; layer encryption takes RSA or EC P-256/P-384/P-521 keys',
      }),
    );
    expect(() => parseEncryptionKey(text('hello'), 'hello.pem')).toThrow(
      expect.objectContaining({
        code: 'KEY_INVALID',
        message: 'the key hello.pem is not a public key in PEM or JWK form',
      }),
    );
    await expect(readEncryptionKey(join(work, 'absent.pem'))).rejects.toMatchObject({
      code: 'KEY_INVALID',
      message: `the key ${join(work, 'absent.pem')} cannot be read (ENOENT)`,
    });
  });

  it('generateEncryptionKey: an EC P-521 pair, the private key readable by its owner only; an existing name is refused', async () => {
    const dir = join(work, 'keys');
    const paths = await generateEncryptionKey(dir, 'team');
    expect(paths).toEqual({ privateKey: join(dir, 'team.pem'), publicKey: join(dir, 'team.pub.pem') });
    expect((await stat(paths.privateKey)).mode & 0o777).toBe(0o600);
    const pub = await readEncryptionKey(paths.publicKey);
    expect(pub.key.asymmetricKeyDetails?.namedCurve).toBe('secp521r1');
    await roundTrip([pub], [await readDecryptionKey(paths.privateKey)]);
    const before = await readFile(paths.privateKey, 'utf8');
    await expect(generateEncryptionKey(dir, 'team')).rejects.toMatchObject({
      code: 'KEY_INVALID',
      message: `${paths.privateKey} exists already: choose another name or remove it first`,
    });
    expect(await readFile(paths.privateKey, 'utf8')).toBe(before);
    await expect(generateEncryptionKey(dir, '../escape')).rejects.toMatchObject({ code: 'KEY_INVALID' });
  });
});
