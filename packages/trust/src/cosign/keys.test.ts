import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTrustError } from '../errors.js';
import { openCosignKeyIndependently, sealCosignKeyIndependently } from '../test-helpers/cosign-reader.js';
import { rejection } from '../test-helpers/rejection.js';
import {
  COSIGN_PRIVATE_KEY_LABEL,
  generateCosignKeyPair,
  keyFingerprint,
  readPrivateKey,
  readPublicKey,
  SIGSTORE_PRIVATE_KEY_LABEL,
} from './keys.js';
import { resolvePassword } from './password.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'test-fixtures', 'cosign');
const PASSWORD = 'correct horse battery staple';

describe('generateCosignKeyPair', () => {
  it('writes a key that opens with the reference parameters (scrypt N=32768 r=8 p=1, NaCl secretbox)', async () => {
    const pair = await generateCosignKeyPair(PASSWORD);
    const opened = openCosignKeyIndependently(pair.privateKeyPem, PASSWORD);
    expect(opened.label).toBe('ENCRYPTED SIGSTORE PRIVATE KEY');
    expect(opened.envelope.kdf.name).toBe('scrypt');
    expect(opened.envelope.kdf.params).toEqual({ N: 32768, r: 8, p: 1 });
    expect(Buffer.from(opened.envelope.kdf.salt, 'base64')).toHaveLength(32);
    expect(opened.envelope.cipher.name).toBe('nacl/secretbox');
    expect(Buffer.from(opened.envelope.cipher.nonce, 'base64')).toHaveLength(24);
    expect(opened.key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    // The public key file is the PKIX form of the same key.
    expect(pair.publicKeyPem.startsWith('-----BEGIN PUBLIC KEY-----\n')).toBe(true);
    expect(createPublicKey(opened.key).export({ format: 'pem', type: 'spki' })).toBe(pair.publicKeyPem);
  });

  it('opens its own key and refuses a wrong password with KEY_PASSWORD_WRONG, never showing it', async () => {
    const pair = await generateCosignKeyPair(PASSWORD);
    const key = await readPrivateKey(pair.privateKeyPem, { password: PASSWORD }, 'test.key');
    expect(keyFingerprint(key)).toBe(keyFingerprint(readPublicKey(pair.publicKeyPem, 'test.pub')));
    const error = await rejection(
      readPrivateKey(pair.privateKeyPem, { password: 'hunter2-wrong' }, 'test.key'),
    );
    expect(isTrustError(error, 'KEY_PASSWORD_WRONG')).toBe(true);
    expect((error as Error).message).toBe(
      'test.key: the password does not open this private key; give the right one (COSIGN_PASSWORD, a password file or the prompt)',
    );
    expect(JSON.stringify(error)).not.toContain('hunter2');
  });
});

describe('readPrivateKey', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });

  it('opens keys sealed by an independent writer under both labels and the standard parameters', async () => {
    for (const label of [SIGSTORE_PRIVATE_KEY_LABEL, COSIGN_PRIVATE_KEY_LABEL]) {
      const pem = sealCosignKeyIndependently(pkcs8, PASSWORD, label, 65536);
      const key = await readPrivateKey(pem, { password: PASSWORD }, 'other.key');
      expect(keyFingerprint(key)).toBe(keyFingerprint(privateKey));
    }
  });

  it('refuses scrypt parameters the format does not allow', async () => {
    const pem = sealCosignKeyIndependently(pkcs8, PASSWORD, SIGSTORE_PRIVATE_KEY_LABEL, 1024);
    const error = await rejection(readPrivateKey(pem, { password: PASSWORD }, 'weak.key'));
    expect(isTrustError(error, 'KEY_INVALID')).toBe(true);
    expect((error as Error).message).toBe(
      'weak.key: not a cosign encrypted private key (scrypt parameters N=1024 r=8 p=1 are not among those the format allows)',
    );
  });

  it('reads plain PKCS#8 and SEC1 PEM keys without a password', async () => {
    const pkcs8Pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const sec1Pem = privateKey.export({ format: 'pem', type: 'sec1' }).toString();
    expect(sec1Pem).toContain('-----BEGIN EC PRIVATE KEY-----');
    for (const pem of [pkcs8Pem, sec1Pem]) {
      expect(keyFingerprint(await readPrivateKey(pem, {}, 'plain.key'))).toBe(keyFingerprint(privateKey));
    }
  });

  it('refuses keys that are not ECDSA P-256, naming the file', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const error = await rejection(
      readPrivateKey(rsa.export({ format: 'pem', type: 'pkcs8' }).toString(), {}, 'rsa.key'),
    );
    expect(isTrustError(error, 'KEY_INVALID')).toBe(true);
    expect((error as Error).message).toBe(
      "rsa.key: a rsa key; concil signs and verifies with ECDSA P-256 keys (cosign's default)",
    );
  });

  it('asks for a password only for encrypted keys: KEY_PASSWORD_MISSING when no source has one', async () => {
    const pair = await generateCosignKeyPair(PASSWORD);
    const error = await rejection(readPrivateKey(pair.privateKeyPem, { env: {} }, 'test.key'));
    expect(isTrustError(error, 'KEY_PASSWORD_MISSING')).toBe(true);
    expect((error as Error).message).toBe(
      'test.key: the private key is encrypted and no password was given; set COSIGN_PASSWORD or give a password file',
    );
  });
});

describe('readPublicKey', () => {
  it('reads the public keys cosign wrote', async () => {
    for (const name of ['cosign.pub', 'cosign2.pub']) {
      const key = readPublicKey(await readFile(join(FIXTURES, name), 'utf8'), name);
      expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    }
  });

  it('refuses a private key given as public key', async () => {
    const pair = await generateCosignKeyPair(PASSWORD);
    expect(() => readPublicKey(pair.privateKeyPem, 'x.pub')).toThrow(
      'x.pub: a PEM block "ENCRYPTED SIGSTORE PRIVATE KEY" is no public key; give a PKIX "PUBLIC KEY" PEM',
    );
  });
});

describe('resolvePassword', () => {
  it('takes a password file first, then COSIGN_PASSWORD (even empty), then the prompt', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'concil-password-'));
    const file = join(dir, 'password');
    await writeFile(file, 'from-file\nsecond line\n');
    const prompt = async (question: string) => `prompted for ${question}`;
    expect(await resolvePassword({ passwordFile: file, env: { COSIGN_PASSWORD: 'env' }, prompt }, 'k')).toBe(
      'from-file',
    );
    expect(await resolvePassword({ env: { COSIGN_PASSWORD: '' }, prompt }, 'k')).toBe('');
    expect(await resolvePassword({ env: {}, prompt }, 'k')).toBe('prompted for Password for k:');
  });
});
