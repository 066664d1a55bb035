import { readFile } from 'node:fs/promises';
import { RegistryError } from '../errors.js';
import { matchAuthKey } from './auth-keys.js';
import { type CredentialRequest, type Credentials, decodeAuth } from './credentials.js';

/** One entry of an `auths` map, as docker, podman and concil write them. */
interface AuthEntry {
  auth?: unknown;
  username?: unknown;
  password?: unknown;
  identitytoken?: unknown;
}

/** Reads a JSON config file; undefined when it does not exist. Malformed files are errors. */
export async function readJsonFile(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not an object');
    return json as Record<string, unknown>;
  } catch {
    throw new RegistryError('CONFIG_INVALID', `${path} is not valid JSON; fix or remove it`, {
      reference: path,
    });
  }
}

/** Credentials from an `auths` map (host or host/prefix keys, longest prefix wins). */
export function credentialsFromAuths(auths: unknown, request: CredentialRequest): Credentials | undefined {
  if (typeof auths !== 'object' || auths === null) return undefined;
  const map = auths as Record<string, AuthEntry>;
  const key = matchAuthKey(Object.keys(map), request.registry, request.repository);
  const entry = key === undefined ? undefined : map[key];
  if (!entry || typeof entry !== 'object') return undefined;
  if (typeof entry.identitytoken === 'string' && entry.identitytoken) {
    return { identityToken: entry.identitytoken };
  }
  if (typeof entry.auth === 'string' && entry.auth) return decodeAuth(entry.auth);
  if (typeof entry.username === 'string' && typeof entry.password === 'string') {
    return { username: entry.username, password: entry.password };
  }
  return undefined;
}
