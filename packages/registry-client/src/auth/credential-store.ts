import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { RegistryError } from '../errors.js';
import { readJsonFile } from './auth-file.js';
import { normalizeAuthKey } from './auth-keys.js';
import { type CredentialSourceOptions, concilConfigPath, dockerConfigPath } from './config-paths.js';

/** A file `concil login` writes to: concil's configuration or docker's. */
export interface CredentialFile {
  path: string;
  /** docker keys Docker Hub as `https://index.docker.io/v1/` (as `docker login` does); concil as `docker.io`. */
  format: 'concil' | 'docker';
}

/** concil's configuration (`$CONCIL_CONFIG`, `~/.concil/config.json`) or docker's (`$DOCKER_CONFIG`, `~/.docker`). */
export function credentialFile(
  format: CredentialFile['format'],
  options: CredentialSourceOptions = {},
): CredentialFile {
  return { path: format === 'docker' ? dockerConfigPath(options) : concilConfigPath(options), format };
}

/**
 * Stores `user:pass` for a server (`host[:port]`, `host/prefix`, or a URL) as docker's
 * `{"auth": base64}` entry of `auths`, replacing any entry that names the same server in another
 * spelling. Every other key of the file stays as it was; the file is replaced atomically and
 * readable by its owner only. Returns the key written.
 */
export async function saveCredentials(
  file: CredentialFile,
  server: string,
  credentials: { username: string; password: string },
): Promise<string> {
  const config = (await readJsonFile(file.path)) ?? {};
  const auths = authsOf(config, file.path);
  const key = storedKey(server, file.format);
  for (const existing of keysFor(auths, server)) if (existing !== key) delete auths[existing];
  auths[key] = { auth: Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64') };
  config.auths = auths;
  await writeConfig(file.path, config);
  return key;
}

/** Removes every `auths` entry for a server; returns the keys removed (the file is untouched when none). */
export async function removeCredentials(file: CredentialFile, server: string): Promise<string[]> {
  const config = await readJsonFile(file.path);
  if (!config) return [];
  const auths = authsOf(config, file.path);
  const removed = keysFor(auths, server);
  if (removed.length === 0) return [];
  for (const key of removed) delete auths[key];
  config.auths = auths;
  await writeConfig(file.path, config);
  return removed;
}

function storedKey(server: string, format: CredentialFile['format']): string {
  const key = normalizeAuthKey(server);
  return format === 'docker' && key === 'docker.io' ? 'https://index.docker.io/v1/' : key;
}

function keysFor(auths: Record<string, unknown>, server: string): string[] {
  const wanted = normalizeAuthKey(server);
  return Object.keys(auths).filter((key) => normalizeAuthKey(key) === wanted);
}

function authsOf(config: Record<string, unknown>, path: string): Record<string, unknown> {
  const auths = config.auths ?? {};
  if (typeof auths !== 'object' || auths === null || Array.isArray(auths)) {
    throw new RegistryError('CONFIG_INVALID', `${path}: "auths" is not an object; fix or remove it`, {
      reference: path,
    });
  }
  return auths as Record<string, unknown>;
}

/** Secrets: the directory is made private if it is new, the file is always 0600. */
async function writeConfig(path: string, config: Record<string, unknown>): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // Loaded here: only login and logout write, and no other command should pay for the module.
  const { default: writeFileAtomic } = await import('write-file-atomic');
  await writeFileAtomic(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}
