import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { isTrustError } from '../errors.js';
import { openCosignKeyIndependently } from '../test-helpers/cosign-reader.js';
import { rejection } from '../test-helpers/rejection.js';
import { CosignKeyDirectory } from './key-directory.js';
import { loadSigningKey, loadTrustedKeys } from './key-spec.js';
import { keyFingerprint, readPublicKey } from './keys.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'test-fixtures', 'cosign');
const password = { password: 'pw' };
let root: string;
let directory: CosignKeyDirectory;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'concil-keys-'));
  directory = new CosignKeyDirectory(join(root, 'cosign'));
});

describe('CosignKeyDirectory', () => {
  it('generates ID.key (mode 0600, cosign format) and ID.pub, and lists them', async () => {
    const entry = await directory.generate('release', password);
    const privatePem = await readFile(join(root, 'cosign', 'release.key'), 'utf8');
    expect((await stat(join(root, 'cosign', 'release.key'))).mode & 0o777).toBe(0o600);
    const opened = openCosignKeyIndependently(privatePem, 'pw');
    expect(keyFingerprint(opened.key)).toBe(entry.fingerprint);
    expect(await directory.list()).toEqual([
      { id: 'release', fingerprint: entry.fingerprint, hasPrivateKey: true },
    ]);
  });

  it('refuses to overwrite a key (KEY_EXISTS) and leaves it as it was', async () => {
    await directory.generate('release', password);
    const before = await readFile(join(root, 'cosign', 'release.key'), 'utf8');
    const error = await rejection(directory.generate('release', password));
    expect(isTrustError(error, 'KEY_EXISTS')).toBe(true);
    expect((error as Error).message).toBe(
      `${join(root, 'cosign', 'release.key')}: a key named "release" exists already; choose another ID or remove it first`,
    );
    expect(await readFile(join(root, 'cosign', 'release.key'), 'utf8')).toBe(before);
  });

  it('imports a public key for verification only, and trusts it', async () => {
    await directory.import('upstream', join(FIXTURES, 'cosign.pub'), {});
    const [entry] = await directory.list();
    expect(entry).toMatchObject({ id: 'upstream', hasPrivateKey: false });
    const trusted = await loadTrustedKeys(undefined, directory);
    expect(trusted.map((k) => k.name)).toEqual(['upstream']);
    const fixture = readPublicKey(await readFile(join(FIXTURES, 'cosign.pub'), 'utf8'), 'cosign.pub');
    expect(keyFingerprint(trusted[0]!.key)).toBe(keyFingerprint(fixture));
  });

  it('imports a plain PKCS#8 key sealed into cosign format with the password', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const file = join(root, 'plain.pem');
    await writeFile(file, privateKey.export({ format: 'pem', type: 'pkcs8' }));
    await directory.import('plain', file, password);
    const sealed = await readFile(directory.privateKeyPath('plain'), 'utf8');
    expect(keyFingerprint(openCosignKeyIndependently(sealed, 'pw').key)).toBe(keyFingerprint(privateKey));
    const signing = await loadSigningKey('plain', directory, password);
    expect(keyFingerprint(signing)).toBe(keyFingerprint(privateKey));
  });

  it('imports a cosign key only when the password opens it (KEY_PASSWORD_WRONG, nothing written)', async () => {
    const other = new CosignKeyDirectory(join(root, 'other'));
    await other.generate('k', password);
    const error = await rejection(directory.import('k', other.privateKeyPath('k'), { password: 'nope' }));
    expect(isTrustError(error, 'KEY_PASSWORD_WRONG')).toBe(true);
    expect(await directory.list()).toEqual([]);
    await directory.import('k', other.privateKeyPath('k'), password);
    expect(await readFile(directory.privateKeyPath('k'), 'utf8')).toBe(
      await readFile(other.privateKeyPath('k'), 'utf8'),
    );
  });

  it('exports the public key, or the private key with private', async () => {
    await directory.generate('release', password);
    await directory.export('release', join(root, 'out.pub'));
    await directory.export('release', join(root, 'out.key'), { private: true });
    expect(await readFile(join(root, 'out.pub'), 'utf8')).toBe(
      await readFile(directory.publicKeyPath('release'), 'utf8'),
    );
    expect(await readFile(join(root, 'out.key'), 'utf8')).toBe(
      await readFile(directory.privateKeyPath('release'), 'utf8'),
    );
  });

  it('names a missing key (KEY_NOT_FOUND) and refuses IDs that are paths', async () => {
    const error = await rejection(loadSigningKey('absent', directory, password));
    expect(isTrustError(error, 'KEY_NOT_FOUND')).toBe(true);
    expect((error as Error).message).toBe(`${directory.privateKeyPath('absent')}: no such key file (absent)`);
    expect(() => directory.publicKeyPath('../x')).toThrow('"../x" is no key ID');
  });

  it('reads --key as a file when it is a path', async () => {
    const trusted = await loadTrustedKeys(join(FIXTURES, 'cosign2.pub'), directory);
    expect(trusted.map((k) => k.name)).toEqual([join(FIXTURES, 'cosign2.pub')]);
  });
});
