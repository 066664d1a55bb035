import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface KeyFiles {
  /** The public key, PEM (SPKI). */
  pub: string;
  /** The private key, PEM (PKCS#8). */
  priv: string;
}

/** A key pair written as PEM files into `dir`: RSA 2048, or EC on the curve named. */
export async function writeKeyPair(
  dir: string,
  name: string,
  kind: { rsa: true } | { curve: 'P-256' | 'P-384' | 'P-521' },
): Promise<KeyFiles> {
  const encoding = {
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  } as const;
  const { privateKey, publicKey } =
    'rsa' in kind
      ? generateKeyPairSync('rsa', { modulusLength: 2048, ...encoding })
      : generateKeyPairSync('ec', { namedCurve: kind.curve, ...encoding });
  const files = { pub: join(dir, `${name}.pub.pem`), priv: join(dir, `${name}.pem`) };
  await writeFile(files.pub, publicKey);
  await writeFile(files.priv, privateKey);
  return files;
}
