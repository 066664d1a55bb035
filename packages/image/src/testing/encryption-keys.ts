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
  const { privateKey, publicKey } =
    'rsa' in kind
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: kind.curve });
  const files = { pub: join(dir, `${name}.pub.pem`), priv: join(dir, `${name}.pem`) };
  await writeFile(files.pub, publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(files.priv, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return files;
}
