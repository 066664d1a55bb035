import { randomBytes, scrypt } from 'node:crypto';
import { promisify } from 'node:util';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import { TrustError } from '../errors.js';

/**
 * The password-encrypted envelope cosign keeps private keys in (go-securesystemslib's
 * `encrypted` format): JSON with a scrypt KDF (its parameters and a salt), a NaCl secretbox
 * cipher (its nonce) and the ciphertext, every byte string in standard base64.
 */
export interface EncryptedEnvelope {
  kdf: { name: 'scrypt'; params: ScryptParams; salt: string };
  cipher: { name: 'nacl/secretbox'; nonce: string };
  ciphertext: string;
}

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** What cosign generated keys with for years; the reference parameters of the format. */
export const LEGACY_SCRYPT: ScryptParams = { N: 32768, r: 8, p: 1 };
/** The parameters the format accepts when opening (legacy, standard, OWASP), as the Go reader. */
const ACCEPTED_N = new Set([32768, 65536, 131072]);
const SALT_BYTES = 32;
const NONCE_BYTES = 24;
const KEY_BYTES = 32;

const scryptAsync = promisify(scrypt) as (
  password: Buffer,
  salt: Buffer,
  length: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

async function deriveKey(password: string, salt: Buffer, params: ScryptParams): Promise<Uint8Array> {
  // scrypt needs 128 * N * r bytes; node's default ceiling (32 MiB) is just too small for N=2^15.
  const maxmem = 256 * params.N * params.r;
  return scryptAsync(Buffer.from(password, 'utf8'), salt, KEY_BYTES, { ...params, maxmem });
}

/** Seals `plaintext` under `password` in the envelope, as JSON bytes. */
export async function encryptEnvelope(
  plaintext: Uint8Array,
  password: string,
  params: ScryptParams = LEGACY_SCRYPT,
): Promise<Buffer> {
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const key = await deriveKey(password, salt, params);
  const sealed = xsalsa20poly1305(key, nonce).encrypt(plaintext);
  const envelope: EncryptedEnvelope = {
    kdf: { name: 'scrypt', params: { ...params }, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(sealed).toString('base64'),
  };
  return Buffer.from(JSON.stringify(envelope));
}

/** Opens the envelope; `KEY_PASSWORD_WRONG` when the password does not, `KEY_INVALID` when it is no envelope. */
export async function decryptEnvelope(json: Uint8Array, password: string, subject: string): Promise<Buffer> {
  const envelope = parseEnvelope(json, subject);
  const key = await deriveKey(password, Buffer.from(envelope.kdf.salt, 'base64'), envelope.kdf.params);
  try {
    const opened = xsalsa20poly1305(key, Buffer.from(envelope.cipher.nonce, 'base64')).decrypt(
      Buffer.from(envelope.ciphertext, 'base64'),
    );
    return Buffer.from(opened);
  } catch {
    throw new TrustError(
      'KEY_PASSWORD_WRONG',
      `${subject}: the password does not open this private key; give the right one (COSIGN_PASSWORD, a password file or the prompt)`,
      subject,
    );
  }
}

function parseEnvelope(json: Uint8Array, subject: string): EncryptedEnvelope {
  const invalid = (why: string) =>
    new TrustError('KEY_INVALID', `${subject}: not a cosign encrypted private key (${why})`, subject);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(json).toString('utf8'));
  } catch {
    throw invalid('its body is no JSON');
  }
  const envelope = value as Partial<EncryptedEnvelope> | null;
  const kdf = envelope?.kdf;
  const cipher = envelope?.cipher;
  if (kdf?.name !== 'scrypt') throw invalid(`kdf ${JSON.stringify(kdf?.name)}, expected "scrypt"`);
  if (cipher?.name !== 'nacl/secretbox') {
    throw invalid(`cipher ${JSON.stringify(cipher?.name)}, expected "nacl/secretbox"`);
  }
  const { N, r, p } = kdf.params ?? ({} as ScryptParams);
  if (!ACCEPTED_N.has(N) || r !== 8 || p !== 1) {
    throw invalid(`scrypt parameters N=${N} r=${r} p=${p} are not among those the format allows`);
  }
  if (typeof kdf.salt !== 'string' || typeof cipher.nonce !== 'string') throw invalid('no salt or nonce');
  if (Buffer.from(cipher.nonce, 'base64').length !== NONCE_BYTES) throw invalid('a nonce of the wrong size');
  if (typeof envelope?.ciphertext !== 'string') throw invalid('no ciphertext');
  return envelope as EncryptedEnvelope;
}
