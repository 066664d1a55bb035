import { formatReference, parseReference, type ReadOnlyTarget } from '@concil/oci-spec';
import {
  type CredentialProvider,
  type Credentials,
  chainCredentialProviders,
  defaultCredentialProvider,
  matchAuthKey,
  openRegistryTarget,
} from '@concil/registry-client';
import type { ConcilConfig } from './config.js';
import { StoreError } from './errors.js';

/**
 * Opens a reference's repository with `@concil/registry-client`, reaching it as the
 * configuration says: `remote_servers[host].registry` is the registry to ask instead (a mirror;
 * `http://` for plain HTTP), `cafile` the extra CAs. Credentials: the reference's `user:pass`,
 * then `auths` of this configuration, then the client's usual chain (docker's config, helpers).
 */
export async function openRegistrySource(reference: string, config: ConcilConfig): Promise<ReadOnlyTarget> {
  const ref = parseReference(reference);
  const server = config.remote_servers[ref.registry];
  let plainHttp: boolean | undefined;
  if (server?.registry) {
    const url = new URL(server.registry);
    if (url.pathname !== '/' && url.pathname !== '') {
      throw new StoreError(
        'CONFIG_INVALID',
        `remote_servers["${ref.registry}"].registry must be a registry's base URL, without a path: ${server.registry}`,
        ref.registry,
      );
    }
    ref.registry = url.host;
    plainHttp = url.protocol === 'http:';
  }
  return openRegistryTarget(server?.registry ? formatReference(ref) : reference, {
    ...(plainHttp !== undefined && { plainHttp }),
    ...(config.cafile && { caFile: config.cafile }),
    credentials: chainCredentialProviders(
      ref.username !== undefined
        ? async () => ({ username: ref.username, password: ref.password ?? '' })
        : undefined,
      authsCredentials(config),
      defaultCredentialProvider(),
    ),
  });
}

/** Credentials from the configuration's `auths` (host or host/prefix keys, longest wins). */
function authsCredentials(config: ConcilConfig): CredentialProvider {
  return async (request) => {
    const key = matchAuthKey(Object.keys(config.auths), request.registry, request.repository);
    const entry = key === undefined ? undefined : config.auths[key];
    if (!entry) return undefined;
    if (entry.identitytoken) return { identityToken: entry.identitytoken };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (entry.username !== undefined && entry.password !== undefined) {
      return { username: entry.username, password: entry.password } satisfies Credentials;
    }
    return undefined;
  };
}
