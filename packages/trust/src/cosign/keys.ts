import { createHash, createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { TrustError } from '../errors.js';
import { decryptEnvelope, encryptEnvelope } from './encrypted-envelope.js';
import { type PasswordSource, resolvePassword } from './password.js';

/** The PEM label cosign writes encrypted private keys under; older cosign wrote the second. */
export const SIGSTORE_PRIVATE_KEY_LABEL = 'ENCRYPTED SIGSTORE PRIVATE KEY';
export const COSIGN_PRIVATE_KEY_LABEL = 'ENCRYPTED COSIGN PRIVATE KEY';

export interface CosignKeyPair {
  /** `ENCRYPTED SIGSTORE PRIVATE KEY` PEM: the PKCS#8 DER sealed in the scrypt/secretbox envelope. */
  privateKeyPem: string;
  /** PKIX (`PUBLIC KEY`) PEM. */
  publicKeyPem: string;
}

const generateEcKeyPair = promisify(generateKeyPair);

/** A new ECDSA P-256 key pair in cosign's format, the private key sealed with `password`. */
export async function generateCosignKeyPair(password: string): Promise<CosignKeyPair> {
  const { privateKey, publicKey } = await generateEcKeyPair('ec', { namedCurve: 'P-256' });
  return {
    privateKeyPem: await encryptPrivateKey(privateKey, password),
    publicKeyPem: publicKeyPem(publicKey),
  };
}

/** Seals a private key into cosign's `ENCRYPTED SIGSTORE PRIVATE KEY` PEM. */
export async function encryptPrivateKey(privateKey: KeyObject, password: string): Promise<string> {
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  return pemEncode(SIGSTORE_PRIVATE_KEY_LABEL, await encryptEnvelope(der, password));
}

export function publicKeyPem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'spki' }).toString();
}

/**
 * Reads a private key: cosign's encrypted PEM (both labels; the password comes from `source`),
 * or plain PKCS#8 (`PRIVATE KEY`) and SEC1 (`EC PRIVATE KEY`) PEM. Only ECDSA P-256 keys sign.
 */
export async function readPrivateKey(
  pem: string,
  source: PasswordSource,
  subject: string,
): Promise<KeyObject> {
  const block = pemDecode(pem, subject);
  let key: KeyObject;
  if (block.label === SIGSTORE_PRIVATE_KEY_LABEL || block.label === COSIGN_PRIVATE_KEY_LABEL) {
    const password = await resolvePassword(source, subject);
    const der = await decryptEnvelope(block.der, password, subject);
    key = parseKey(() => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }), subject);
  } else if (block.label === 'PRIVATE KEY' || block.label === 'EC PRIVATE KEY') {
    key = parseKey(() => createPrivateKey(pem), subject);
  } else {
    throw new TrustError(
      'KEY_INVALID',
      `${subject}: a PEM block "${block.label}" is no private key concil reads (cosign's encrypted key, PKCS#8 or EC)`,
      subject,
    );
  }
  return requireP256(key, subject);
}

/** Reads a PKIX (`PUBLIC KEY`) PEM public key; only ECDSA P-256 keys verify. */
export function readPublicKey(pem: string, subject: string): KeyObject {
  const block = pemDecode(pem, subject);
  if (block.label !== 'PUBLIC KEY') {
    throw new TrustError(
      'KEY_INVALID',
      `${subject}: a PEM block "${block.label}" is no public key; give a PKIX "PUBLIC KEY" PEM`,
      subject,
    );
  }
  return requireP256(
    parseKey(() => createPublicKey(pem), subject),
    subject,
  );
}

/** A short, stable name of a public key: the sha256 of its PKIX DER, as hex. */
export function keyFingerprint(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('hex');
}

function parseKey(read: () => KeyObject, subject: string): KeyObject {
  try {
    return read();
  } catch (error) {
    throw new TrustError('KEY_INVALID', `${subject}: the key bytes do not parse`, subject, { cause: error });
  }
}

function requireP256(key: KeyObject, subject: string): KeyObject {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    const kind = key.asymmetricKeyDetails?.namedCurve ?? key.asymmetricKeyType ?? 'unknown';
    throw new TrustError(
      'KEY_INVALID',
      `${subject}: a ${kind} key; concil signs and verifies with ECDSA P-256 keys (cosign's default)`,
      subject,
    );
  }
  return key;
}

interface PemBlock {
  label: string;
  der: Buffer;
}

function pemDecode(pem: string, subject: string): PemBlock {
  const match = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(pem);
  if (!match) {
    throw new TrustError('KEY_INVALID', `${subject}: no PEM block in the key file`, subject);
  }
  return { label: match[1]!, der: Buffer.from(match[2]!.replace(/\s+/g, ''), 'base64') };
}

function pemEncode(label: string, body: Buffer): string {
  const lines = body.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
