import { createPrivateKey, type KeyObject, scryptSync } from 'node:crypto';
import nacl from 'tweetnacl';

/** The envelope's fields as the format names them (read by hand, so typed loosely). */
export interface EnvelopeJson {
  kdf: { name: string; params: { N: number; r: number; p: number }; salt: string };
  cipher: { name: string; nonce: string };
  ciphertext: string;
}

/**
 * An independent reader of cosign's encrypted private key: parses the PEM and the JSON envelope
 * by hand and opens it with node's scrypt and tweetnacl's secretbox, never with our code.
 */
export function openCosignKeyIndependently(
  pem: string,
  password: string,
): { envelope: EnvelopeJson; label: string; key: KeyObject } {
  const match = /^-----BEGIN ([A-Z ]+)-----\n([A-Za-z0-9+/=\n]+)-----END \1-----\n$/.exec(pem);
  if (!match) throw new Error('no PEM');
  const envelope: EnvelopeJson = JSON.parse(
    Buffer.from(match[2]!.replaceAll('\n', ''), 'base64').toString('utf8'),
  );
  const { N, r, p } = envelope.kdf.params;
  const key = scryptSync(password, Buffer.from(envelope.kdf.salt, 'base64'), 32, {
    N,
    r,
    p,
    maxmem: 512 * 1024 * 1024,
  });
  const opened = nacl.secretbox.open(
    Buffer.from(envelope.ciphertext, 'base64'),
    Buffer.from(envelope.cipher.nonce, 'base64'),
    key,
  );
  if (!opened) throw new Error('secretbox did not open');
  return {
    envelope,
    label: match[1]!,
    key: createPrivateKey({ key: Buffer.from(opened), format: 'der', type: 'pkcs8' }),
  };
}

/** Seals a PKCS#8 DER the way go-securesystemslib does, with tweetnacl (for reading tests). */
export function sealCosignKeyIndependently(
  pkcs8: Buffer,
  password: string,
  label: string,
  N = 65536,
): string {
  const salt = Buffer.from(nacl.randomBytes(32));
  const nonce = Buffer.from(nacl.randomBytes(24));
  const key = scryptSync(password, salt, 32, { N, r: 8, p: 1, maxmem: 512 * 1024 * 1024 });
  const body = JSON.stringify({
    kdf: { name: 'scrypt', params: { N, r: 8, p: 1 }, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(nacl.secretbox(pkcs8, nonce, key)).toString('base64'),
  });
  const lines = Buffer.from(body)
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n');
  return `-----BEGIN ${label}-----\n${lines}\n-----END ${label}-----\n`;
}
