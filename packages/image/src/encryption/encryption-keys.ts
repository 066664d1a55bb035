import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ImageError } from '../errors.js';

/** The JWE key-management algorithms ocicrypt writes and reads. */
export const KEY_ALGORITHMS = [
  'RSA-OAEP',
  'RSA-OAEP-256',
  'ECDH-ES+A128KW',
  'ECDH-ES+A192KW',
  'ECDH-ES+A256KW',
];
const CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);

/** A recipient's public key and the algorithm its wrapped key is made with. */
export interface EncryptionKey {
  key: KeyObject;
  /** RSA-OAEP for RSA keys, ECDH-ES+A256KW for EC keys, as ocicrypt; a JWK's own `alg` when it has one. */
  algorithm: string;
  /** Where the key came from, for messages. */
  name: string;
}

/** A private key that may open a layer's wrapped key. */
export interface DecryptionKey {
  key: KeyObject;
  name: string;
}

export interface PrivateKeyOptions {
  /** Asked for only when the key is encrypted (a PEM with a password). */
  password?: () => string | Promise<string>;
}

/** A public key in PEM (SPKI or PKCS#1) or JWK form; RSA, or EC on P-256, P-384 or P-521. */
export function parseEncryptionKey(bytes: Uint8Array, name: string): EncryptionKey {
  const jwk = jsonOf(bytes);
  let key: KeyObject;
  try {
    key = jwk ? createPublicKey({ key: jwk, format: 'jwk' }) : createPublicKey(Buffer.from(bytes));
  } catch (error) {
    throw keyInvalid(name, 'is not a public key in PEM or JWK form', error);
  }
  if (key.type !== 'public') throw keyInvalid(name, 'is not a public key');
  checkKind(key, name);
  const declared = typeof jwk?.alg === 'string' ? jwk.alg : undefined;
  if (declared !== undefined && !KEY_ALGORITHMS.includes(declared)) {
    throw keyInvalid(name, `asks for the JWE algorithm ${declared}; use one of ${KEY_ALGORITHMS.join(', ')}`);
  }
  return {
    key,
    algorithm: declared ?? (key.asymmetricKeyType === 'rsa' ? 'RSA-OAEP' : 'ECDH-ES+A256KW'),
    name,
  };
}

/** A private key in PEM (PKCS#8, PKCS#1, SEC1, encrypted or not) or JWK form; RSA or EC. */
export async function parseDecryptionKey(
  bytes: Uint8Array,
  name: string,
  options: PrivateKeyOptions = {},
): Promise<DecryptionKey> {
  const jwk = jsonOf(bytes);
  const pem = Buffer.from(bytes);
  let key: KeyObject;
  try {
    if (jwk) key = createPrivateKey({ key: jwk, format: 'jwk' });
    else if (isEncryptedPem(pem)) {
      if (!options.password) throw keyInvalid(name, 'is encrypted: give its password (--key-password-file)');
      key = createPrivateKey({ key: pem, passphrase: await options.password() });
    } else key = createPrivateKey(pem);
  } catch (error) {
    if (error instanceof ImageError) throw error;
    const wrongPassword = isEncryptedPem(pem);
    throw keyInvalid(
      name,
      wrongPassword ? 'does not open with the password given' : 'is not a private key in PEM or JWK form',
      error,
    );
  }
  checkKind(key, name);
  return { key, name };
}

export async function readEncryptionKey(path: string): Promise<EncryptionKey> {
  return parseEncryptionKey(await readKeyFile(path), path);
}

export async function readDecryptionKey(
  path: string,
  options: PrivateKeyOptions = {},
): Promise<DecryptionKey> {
  return parseDecryptionKey(await readKeyFile(path), path, options);
}

/**
 * Makes a key pair for layer encryption, EC P-521 as the Python concil: `NAME.pem` (PKCS#8, only
 * the owner may read it) and `NAME.pub.pem` (SPKI) in `directory`. An existing key is kept.
 */
export async function generateEncryptionKey(
  directory: string,
  name: string,
): Promise<{ privateKey: string; publicKey: string }> {
  if (!/^[\w][\w.-]*$/.test(name)) {
    throw new ImageError(
      'KEY_INVALID',
      `"${name}" is no key name: use letters, digits, ".", "_" and "-"`,
      name,
    );
  }
  const { privateKey, publicKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-521',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const paths = { privateKey: join(directory, `${name}.pem`), publicKey: join(directory, `${name}.pub.pem`) };
  await mkdir(directory, { recursive: true, mode: 0o700 });
  try {
    await writeFile(paths.privateKey, privateKey, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    throw new ImageError(
      'KEY_INVALID',
      `${paths.privateKey} exists already: choose another name or remove it first`,
      paths.privateKey,
    );
  }
  await writeFile(paths.publicKey, publicKey, { mode: 0o644 });
  return paths;
}

async function readKeyFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw keyInvalid(path, `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, error);
  }
}

function checkKind(key: KeyObject, name: string): void {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') return;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (type === 'ec' && curve && CURVES.has(curve)) return;
  throw keyInvalid(
    name,
    `is a ${type}${curve ? ` ${curve}` : ''} key; layer encryption takes RSA or EC P-256/P-384/P-521 keys`,
  );
}

function isEncryptedPem(pem: Buffer): boolean {
  const text = pem.toString('latin1');
  return text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || text.includes('Proc-Type: 4,ENCRYPTED');
}

function jsonOf(bytes: Uint8Array): Record<string, unknown> | undefined {
  const text = Buffer.from(bytes).toString('utf8').trim();
  if (!text.startsWith('{')) return undefined;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The error never quotes the key or the password: only what is wrong and where. */
function keyInvalid(name: string, problem: string, cause?: unknown): ImageError {
  return new ImageError(
    'KEY_INVALID',
    `the key ${name} ${problem}`,
    name,
    cause === undefined ? undefined : { cause },
  );
}
