import { join } from 'node:path';
import { hostOf } from '@concil/oci-spec';
import {
  type Credentials,
  chainCredentialProviders,
  credentialsFromAuths,
  defaultCredentialProvider,
} from '@concil/registry-client';
import { TrustError } from '../errors.js';

/** The part of concil's configuration (`@concil/store`'s ConcilConfig) that Notary reads. */
export interface NotaryConfig {
  cache_dir: string;
  cafile?: string;
  notary_path?: string;
  notary_trust_pinning?: unknown;
  remote_servers: Record<string, { notary?: string | undefined }>;
  /** The registries' credentials: a Notary server behind token auth takes the registry's. */
  auths?: Record<string, unknown>;
}

/**
 * The credentials a registry's Notary server gets when it asks (Docker sends the registry's):
 * `auths` of the configuration, then the usual files (concil's, docker's, containers').
 */
export function notaryCredentials(
  config: NotaryConfig,
  registry: string,
): () => Promise<Credentials | undefined> {
  const provider = chainCredentialProviders(
    async (request) => credentialsFromAuths(config.auths, request, { anyPort: true }),
    defaultCredentialProvider(),
  );
  return () => provider({ registry });
}

/** `remote_servers[registry].notary`, by `host:port`, else by the host alone; undefined when none. */
export function notaryServerFor(config: NotaryConfig, registry: string): string | undefined {
  return config.remote_servers[registry]?.notary ?? config.remote_servers[hostOf(registry)]?.notary;
}

/** As `notaryServerFor`, or NOTARY_NOT_CONFIGURED saying what to set. */
export function requireNotaryServer(config: NotaryConfig, registry: string): string {
  const server = notaryServerFor(config, registry);
  if (!server) {
    throw new TrustError(
      'NOTARY_NOT_CONFIGURED',
      `no Notary server is configured for ${registry}: set remote_servers["${registry}"].notary in the configuration`,
      registry,
    );
  }
  return server;
}

/** The local trust directory: `notary_path`, else `<cache_dir>/notary`. */
export function notaryTrustDir(config: NotaryConfig): string {
  return config.notary_path ?? join(config.cache_dir, 'notary');
}
