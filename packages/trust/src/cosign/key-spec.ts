import type { KeyObject } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { TrustedKey } from './check-signature.js';
import type { CosignKeyDirectory } from './key-directory.js';
import { readKeyFile } from './key-directory.js';
import { readPrivateKey, readPublicKey } from './keys.js';
import type { PasswordSource } from './password.js';

/**
 * Whether `--key` names a file (a path with a slash, or an existing file) rather than a key ID
 * of the key directory.
 */
async function isKeyFile(spec: string): Promise<boolean> {
  if (spec.includes('/')) return true;
  return (await stat(spec).catch(() => undefined))?.isFile() === true;
}

/** The private key `--key ID|FILE` names, opened with the password. */
export async function loadSigningKey(
  spec: string,
  directory: CosignKeyDirectory,
  password: PasswordSource,
): Promise<KeyObject> {
  const path = (await isKeyFile(spec)) ? spec : directory.privateKeyPath(spec);
  return readPrivateKey(await readKeyFile(path, spec), password, path);
}

/** The keys to trust: the one `--key ID|FILE` names, else every public key of the directory. */
export async function loadTrustedKeys(
  spec: string | undefined,
  directory: CosignKeyDirectory,
): Promise<TrustedKey[]> {
  if (spec === undefined) return directory.trustedKeys();
  const path = (await isKeyFile(spec)) ? spec : directory.publicKeyPath(spec);
  return [{ name: spec, key: readPublicKey(await readKeyFile(path, spec), path) }];
}
