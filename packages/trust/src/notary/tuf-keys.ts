import { constants, createHash, createPublicKey, type KeyObject, verify, X509Certificate } from 'node:crypto';
import { TrustError } from '../errors.js';
import { canonicalJson } from './canonical-json.js';

/** A public key as TUF metadata holds it (`keys` of root, `delegations.keys` of targets). */
export interface TufKey {
  keytype: string;
  keyval: { public: string; private?: string | null };
}

/** A key ready to check signatures: its ID, the public key and, for `*-x509` keys, the certificate. */
export interface VerificationKey {
  id: string;
  keytype: string;
  publicKey: KeyObject;
  /** The certificates of an x509 key, leaf first (a chain may follow it). */
  certificates?: X509Certificate[];
}

/** Notary's key ID: the sha256 of the key's canonical JSON, with `private` null. */
export function tufKeyId(key: TufKey): string {
  const canonical = canonicalJson({
    keytype: key.keytype,
    keyval: { private: null, public: key.keyval.public },
  });
  return createHash('sha256').update(canonical).digest('hex');
}

/** Reads a TUF key (ecdsa, rsa, ed25519, each also as `-x509`) into a node:crypto public key. */
export function loadTufKey(key: TufKey, subject: string): VerificationKey {
  const id = tufKeyId(key);
  const material = Buffer.from(key.keyval.public, 'base64');
  try {
    switch (key.keytype) {
      case 'ecdsa':
      case 'rsa':
        return {
          id,
          keytype: key.keytype,
          publicKey: createPublicKey({ key: material, format: 'der', type: 'spki' }),
        };
      case 'ed25519':
        return {
          id,
          keytype: key.keytype,
          publicKey: createPublicKey({
            key: { kty: 'OKP', crv: 'Ed25519', x: material.toString('base64url') },
            format: 'jwk',
          }),
        };
      case 'ecdsa-x509':
      case 'rsa-x509': {
        const certificates = splitPem(material.toString('utf8')).map((pem) => new X509Certificate(pem));
        const leaf = certificates[0];
        if (!leaf) throw new Error('no certificate in the key');
        return { id, keytype: key.keytype, publicKey: leaf.publicKey, certificates };
      }
      default:
        throw new Error(`key type "${key.keytype}" is not one Notary writes`);
    }
  } catch (error) {
    throw new TrustError(
      'METADATA_INVALID',
      `${subject}: key ${id} cannot be read: ${(error as Error).message}`,
      subject,
      { cause: error },
    );
  }
}

/** The PEM blocks of a text, each whole. */
export function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/**
 * Checks one TUF signature over `data` (the canonical JSON of `signed`). Methods as Notary
 * writes them: `ecdsa` (SHA-256, r‖s), `rsapss` (SHA-256, salt as long as the hash),
 * `rsa` (PKCS#1 v1.5, SHA-256), `ed25519`.
 */
export function verifyTufSignature(
  key: VerificationKey,
  method: string,
  data: Uint8Array,
  signature: Buffer,
): boolean {
  try {
    switch (method) {
      case 'ecdsa':
        return (
          key.publicKey.asymmetricKeyType === 'ec' &&
          verify('sha256', data, { key: key.publicKey, dsaEncoding: 'ieee-p1363' }, signature)
        );
      case 'rsapss':
        return (
          key.publicKey.asymmetricKeyType === 'rsa' &&
          verify(
            'sha256',
            data,
            {
              key: key.publicKey,
              padding: constants.RSA_PKCS1_PSS_PADDING,
              saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
            },
            signature,
          )
        );
      case 'rsa':
        return key.publicKey.asymmetricKeyType === 'rsa' && verify('sha256', data, key.publicKey, signature);
      case 'ed25519':
        return key.publicKey.asymmetricKeyType === 'ed25519' && verify(null, data, key.publicKey, signature);
      default:
        return false;
    }
  } catch {
    return false;
  }
}
