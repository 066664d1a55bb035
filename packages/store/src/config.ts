import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  hostOf,
  issuePath,
  jsonInteger,
  jsonLooseObject,
  jsonMap,
  jsonNumber,
  jsonRecord,
  nonEmptyString,
} from '@concil/oci-spec';
import { type AuthEntry, concilConfigPath } from '@concil/registry-client';
import * as v from 'valibot';
import { StoreError } from './errors.js';

/**
 * `~/.concil/config.json`, with the keys of the Python concil plus `cache_max_bytes`. Unknown
 * keys are kept (they round-trip through `concil config show`), bad values are reported with the
 * key's name and the file.
 */
const httpUrl = v.pipe(
  v.string(),
  v.trim(),
  v.check(isHttpUrl, 'expected an http:// or https:// URL'),
  // Tabs and line breaks, which the URL parser skips, are left out of the value too.
  v.transform((url) => url.replace(/[\t\n\r]/g, '')),
);
const optionalString = v.optional(v.string());
const trustMethod = v.picklist(['notary', 'cosign']);

/**
 * Keyed by `host[:port]`, the host, or `host[:port]/repository/prefix` (trust settings only): where
 * to reach the registry and its Notary server, and the content trust settings for that scope.
 */
const remoteServerSchema = jsonLooseObject({
  registry: v.optional(httpUrl),
  notary: v.optional(httpUrl),
  disable_content_trust: v.optional(v.boolean()),
  content_trust: v.optional(trustMethod),
  cosign_keys: v.optional(v.array(nonEmptyString)),
  signed_identity: v.optional(nonEmptyString),
});

const authObject = jsonLooseObject({
  auth: optionalString,
  username: optionalString,
  password: optionalString,
  identitytoken: optionalString,
  registrytoken: optionalString,
});
const authStringOrObject = v.union(
  [v.string(), authObject],
  (issue) =>
    `Invalid type: Expected a base64 "user:password" string or an Object but received ${issue.received}`,
);
/**
 * Validated only; `credentialsFromAuths` of `@concil/registry-client` decodes it. An object goes
 * straight to its schema, so that a bad field is named (a union says only that neither fits).
 */
const authEntrySchema = v.lazy((entry) =>
  typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? authObject : authStringOrObject,
);

const configFileEntries = {
  cafile: v.optional(nonEmptyString),
  disable_content_trust: v.optional(v.boolean()),
  cache_dir: v.optional(nonEmptyString),
  cache_timeout: v.optional(v.pipe(jsonNumber, v.minValue(0))),
  content_trust: v.optional(trustMethod),
  cosign_path: v.optional(nonEmptyString),
  notary_path: v.optional(nonEmptyString),
  notary_trust_pinning: v.optional(jsonMap),
  /** The Python concil's name of `notary_trust_pinning`. */
  trust_pinning: v.optional(jsonMap),
  remote_servers: v.optional(jsonRecord(remoteServerSchema)),
  auths: v.optional(jsonRecord(authEntrySchema)),
  cache_max_bytes: v.optional(v.nullable(v.pipe(jsonInteger, v.minValue(1)))),
  /** Private key files (PEM or JWK) that open encrypted layers on pull, as the Python concil's. */
  decryption_keys: v.optional(v.array(nonEmptyString)),
};
export const configFileSchema = jsonLooseObject(configFileEntries);

/** An http(s) URL written out in full (`http:host` is refused), one the URL parser takes. */
function isHttpUrl(text: string): boolean {
  return /^https?:\/\//i.test(text) && URL.canParse(text);
}

export type ConfigFile = v.InferOutput<typeof configFileSchema>;
export type RemoteServer = v.InferOutput<typeof remoteServerSchema>;
export type { AuthEntry };

/** Seven days, in seconds. */
export const DEFAULT_CACHE_TIMEOUT = 7 * 24 * 3600;

/** The configuration in force: every key with its value, defaults filled in. */
export interface ConcilConfig {
  cafile?: string;
  /**
   * True unless the file asks for trust: trust is opt-in (see the README). It is false when the
   * file sets `content_trust` or says `disable_content_trust: false`.
   */
  disable_content_trust: boolean;
  /** Absolute; `~` expanded. */
  cache_dir: string;
  /** Seconds since last use after which an image expires. */
  cache_timeout: number;
  /** The trust method used when trust is on; `cosign` by default. */
  content_trust: 'notary' | 'cosign';
  cosign_path?: string;
  notary_path?: string;
  notary_trust_pinning?: Record<string, unknown>;
  remote_servers: Record<string, RemoteServer>;
  auths: Record<string, AuthEntry>;
  /** Upper bound of the cache's size; unbounded when null. */
  cache_max_bytes: number | null;
  /** Private key files tried on encrypted layers when pulling; absolute, `~` expanded. */
  decryption_keys: string[];
  /** Keys this version does not know, kept as they were. */
  extra: Record<string, unknown>;
}

export interface LoadedConfig {
  config: ConcilConfig;
  /** Where the configuration is read from (it may not exist). */
  path: string;
  /** Whether that file exists. */
  exists: boolean;
}

const knownKeys = new Set(Object.keys(configFileEntries));

/** Where the configuration is read from: `$CONCIL_CONFIG`, else `~/.concil/config.json`. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return concilConfigPath({ env, homeDir: homeOf(env) });
}

/** Reads and validates the configuration; defaults when the file is absent. */
export async function loadConfig(
  options: { path?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  const path = options.path ? resolve(options.path) : configPath(env);
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new StoreError(
        'CONFIG_INVALID',
        `cannot read the configuration ${path}: ${(error as Error).message}`,
        path,
        { cause: error },
      );
    }
  }
  if (text === undefined) return { config: resolveConfig({}, path, env), path, exists: false };
  return { config: parseConfig(text, path, env), path, exists: true };
}

/** Parses the text of a configuration file; `path` names it in errors. */
export function parseConfig(text: string, path: string, env: NodeJS.ProcessEnv = process.env): ConcilConfig {
  let json: unknown;
  try {
    json = text.trim() === '' ? {} : JSON.parse(text);
  } catch (error) {
    throw new StoreError(
      'CONFIG_INVALID',
      `${path} is not valid JSON: ${(error as Error).message}; fix the file or point CONCIL_CONFIG elsewhere`,
      path,
      { cause: error },
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new StoreError('CONFIG_INVALID', `${path} must hold a JSON object`, path);
  }
  const result = v.safeParse(configFileSchema, json);
  if (!result.success) {
    const problems = result.issues.map((issue) => `"${issuePath(issue)}": ${issue.message}`).join('; ');
    throw new StoreError('CONFIG_INVALID', `${path}: bad value for ${problems}`, path, {
      cause: new v.ValiError(result.issues),
    });
  }
  return resolveConfig(result.output, path, env);
}

function resolveConfig(file: ConfigFile, path: string, env: NodeJS.ProcessEnv): ConcilConfig {
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(file)) if (!knownKeys.has(key)) extra[key] = value;
  const trustAsked = file.content_trust !== undefined;
  const trustPinning = file.notary_trust_pinning ?? file.trust_pinning;
  const configDir = join(path, '..');
  return {
    ...(file.cafile !== undefined && { cafile: resolve(configDir, expandHome(file.cafile, env)) }),
    disable_content_trust: file.disable_content_trust ?? !trustAsked,
    cache_dir: resolve(configDir, expandHome(file.cache_dir ?? '~/.concil', env)),
    cache_timeout: file.cache_timeout ?? DEFAULT_CACHE_TIMEOUT,
    content_trust: file.content_trust ?? 'cosign',
    ...(file.cosign_path !== undefined && { cosign_path: expandHome(file.cosign_path, env) }),
    ...(file.notary_path !== undefined && { notary_path: expandHome(file.notary_path, env) }),
    ...(trustPinning !== undefined && { notary_trust_pinning: trustPinning }),
    remote_servers: file.remote_servers ?? {},
    auths: file.auths ?? {},
    cache_max_bytes: file.cache_max_bytes ?? null,
    decryption_keys: (file.decryption_keys ?? []).map((key) => resolve(configDir, expandHome(key, env))),
    extra,
  };
}

/** Whether pulls must pass a trust verifier before a manifest is trusted. */
export function trustRequired(config: ConcilConfig): boolean {
  return !config.disable_content_trust;
}

/** The configuration as a person may see it: secrets in `auths` masked, unknown keys kept. */
export function maskedConfig(config: ConcilConfig): Record<string, unknown> {
  const { extra, auths, ...known } = config;
  const masked: Record<string, unknown> = {};
  for (const [host, entry] of Object.entries(auths)) {
    masked[host] =
      typeof entry === 'string'
        ? '***'
        : Object.fromEntries(
            Object.entries(entry).map(([key, value]) => [key, key === 'username' ? value : '***']),
          );
  }
  return { ...known, auths: masked, ...extra };
}

/**
 * The remote server entry for a registry host (`host:port`), if the configuration names one: by
 * `host:port`, else by the host alone, as the Python concil keyed it.
 */
export function remoteServerFor(config: ConcilConfig, registry: string): RemoteServer | undefined {
  return config.remote_servers[registry] ?? config.remote_servers[hostOf(registry)];
}

function homeOf(env: NodeJS.ProcessEnv): string {
  return env.HOME || homedir();
}

function expandHome(path: string, env: NodeJS.ProcessEnv): string {
  if (path === '~') return homeOf(env);
  if (path.startsWith('~/')) return join(homeOf(env), path.slice(2));
  return path;
}
