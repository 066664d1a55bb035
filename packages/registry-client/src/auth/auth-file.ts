import { readFile } from 'node:fs/promises';
import { RegistryError } from '../errors.js';
import { type MatchAuthKeyOptions, matchAuthKey } from './auth-keys.js';
import { type CredentialRequest, type Credentials, decodeAuth } from './credentials.js';

/**
 * One entry of an `auths` map: docker's, podman's and concil's object, or the Python concil's
 * bare base64 `user:pass` string.
 */
export type AuthEntry =
  | string
  | { auth?: string; username?: string; password?: string; identitytoken?: string };

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

/**
 * Credentials from an `auths` map, the one decoder of every config file's `auths`: keys are a
 * host, `host:port`, a repository prefix or a URL (see `matchAuthKey`; the longest wins), values
 * an `AuthEntry`. Values of other shapes count as no credentials.
 */
export function credentialsFromAuths(
  auths: unknown,
  request: CredentialRequest,
  options: MatchAuthKeyOptions = {},
): Credentials | undefined {
  if (typeof auths !== 'object' || auths === null) return undefined;
  const map = auths as Record<string, unknown>;
  const key = matchAuthKey(Object.keys(map), request.registry, request.repository, options);
  return key === undefined ? undefined : decodeAuthEntry(map[key]);
}

/** The credentials one `auths` entry holds, if any. */
function decodeAuthEntry(entry: unknown): Credentials | undefined {
  if (typeof entry === 'string') return entry ? decodeAuth(entry) : undefined;
  if (typeof entry !== 'object' || entry === null) return undefined;
  const { auth, username, password, identitytoken } = entry as Record<string, unknown>;
  if (typeof identitytoken === 'string' && identitytoken) return { identityToken: identitytoken };
  if (typeof auth === 'string' && auth) return decodeAuth(auth);
  if (typeof username === 'string' && typeof password === 'string') return { username, password };
  return undefined;
}
