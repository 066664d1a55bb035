import { join } from 'node:path';
import { credentialsFromAuths, readJsonFile } from './auth-file.js';
import { matchAuthKey } from './auth-keys.js';
import {
  type CredentialSourceOptions,
  concilConfigPath,
  dockerConfigPath,
  resolveOptions,
} from './config-paths.js';
import { getFromCredentialHelper } from './credential-helper.js';
import {
  type CredentialPrompt,
  type CredentialProvider,
  type CredentialRequest,
  type Credentials,
  chainCredentialProviders,
} from './credentials.js';

export type { CredentialSourceOptions } from './config-paths.js';

/**
 * `~/.concil/config.json` (or `$CONCIL_CONFIG`): `auths` keyed by host, host/repository prefix or
 * URL, as objects or the Python concil's base64 strings; a key without port covers every port of
 * its host, as it did in the Python concil.
 */
export function concilConfigCredentials(options: CredentialSourceOptions = {}): CredentialProvider {
  return async (request) => {
    const config = await readJsonFile(concilConfigPath(options));
    return config ? credentialsFromAuths(config.auths, request, { anyPort: true }) : undefined;
  };
}

/**
 * `~/.docker/config.json` (or `$DOCKER_CONFIG/config.json`): a per-registry `credHelpers` entry
 * first, then inline `auths`, then the `credsStore` helper.
 */
export function dockerConfigCredentials(options: CredentialSourceOptions = {}): CredentialProvider {
  return async (request) => {
    const { env } = resolveOptions(options);
    const config = await readJsonFile(dockerConfigPath(options));
    if (!config) return undefined;
    const serverUrl = request.registry === 'docker.io' ? 'https://index.docker.io/v1/' : request.registry;
    const helpers = config.credHelpers;
    if (typeof helpers === 'object' && helpers !== null) {
      const map = helpers as Record<string, unknown>;
      const key = matchAuthKey(Object.keys(map), request.registry);
      const helper = key === undefined ? undefined : map[key];
      if (typeof helper === 'string' && helper) return getFromCredentialHelper(helper, serverUrl, env);
    }
    const inline = credentialsFromAuths(config.auths, { registry: request.registry });
    if (inline) return inline;
    if (typeof config.credsStore === 'string' && config.credsStore) {
      return getFromCredentialHelper(config.credsStore, serverUrl, env);
    }
    return undefined;
  };
}

/**
 * containers-auth.json as podman, buildah and skopeo write it: `$REGISTRY_AUTH_FILE`, else
 * `$XDG_RUNTIME_DIR/containers/auth.json`, else `~/.config/containers/auth.json`; the first file
 * with an entry for the registry wins.
 */
export function containersAuthCredentials(options: CredentialSourceOptions = {}): CredentialProvider {
  return async (request) => {
    const { env, home } = resolveOptions(options);
    const paths = [
      env.REGISTRY_AUTH_FILE,
      env.XDG_RUNTIME_DIR && join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'),
      join(home, '.config', 'containers', 'auth.json'),
    ].filter((each): each is string => Boolean(each));
    for (const path of paths) {
      const config = await readJsonFile(path);
      const found = config ? credentialsFromAuths(config.auths, request) : undefined;
      if (found) return found;
    }
    return undefined;
  };
}

export interface DefaultCredentialOptions extends CredentialSourceOptions {
  /** Credentials that come first, e.g. those written in the image reference. */
  explicit?: Credentials;
  /** Asked only when no file has credentials (the CLI supplies it on a TTY). */
  prompt?: CredentialPrompt;
}

/**
 * The usual order: explicit credentials (the reference's `user:pass`), concil's config, docker's
 * config and credential helpers, containers' auth.json, and last the prompt.
 */
export function defaultCredentialProvider(options: DefaultCredentialOptions = {}): CredentialProvider {
  const { explicit } = options;
  const prompt = options.prompt && oncePerRegistry(options.prompt);
  return chainCredentialProviders(
    explicit ? async () => explicit : undefined,
    concilConfigCredentials(options),
    dockerConfigCredentials(options),
    containersAuthCredentials(options),
    prompt ? (request: CredentialRequest) => prompt(request) : undefined,
  );
}

/** A person is asked once per registry, however many repositories need credentials. */
function oncePerRegistry(prompt: CredentialPrompt): CredentialPrompt {
  const answers = new Map<string, Promise<Credentials | undefined>>();
  return (request) => {
    let answer = answers.get(request.registry);
    if (!answer) {
      answer = prompt(request);
      answers.set(request.registry, answer);
    }
    return answer;
  };
}
