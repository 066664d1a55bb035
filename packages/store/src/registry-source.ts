import type { ReadOnlyTarget } from '@concil/oci-spec';
import {
  type CredentialProvider,
  chainCredentialProviders,
  credentialsFromAuths,
  defaultCredentialProvider,
  type OpenRegistryTargetOptions,
  openRegistryTarget,
  staticCredentials,
} from '@concil/registry-client';
import { type ConcilConfig, remoteServerFor } from './config.js';

/**
 * How the configuration says to reach registries: `remote_servers[host].registry` is the address
 * to ask instead (a mirror; `http://` for plain HTTP; a path is kept, `/v2/…` goes below it), and
 * `cafile` the extra CAs. Spread the caller's own options (command-line flags) after these.
 */
export function configuredRegistryOptions(
  config: ConcilConfig,
): Pick<OpenRegistryTargetOptions, 'caFile' | 'registryUrl'> {
  return {
    ...(config.cafile && { caFile: config.cafile }),
    registryUrl: (registry) => remoteServerFor(config, registry)?.registry,
  };
}

/**
 * Opens a reference's repository with `@concil/registry-client`, reached as the configuration
 * says, `options` (e.g. command-line flags) overriding it. Credentials: the reference's
 * `user:pass`, then `options.credentials`, then `auths` of this configuration, then the client's
 * usual chain (concil's and docker's config files, helpers, `options.prompt`).
 */
export async function openRegistrySource(
  reference: string,
  config: ConcilConfig,
  options: OpenRegistryTargetOptions = {},
): Promise<ReadOnlyTarget> {
  const { credentials, prompt, env, homeDir, ...rest } = options;
  const configured: CredentialProvider = async (request) =>
    credentialsFromAuths(config.auths, request, { anyPort: true });
  return openRegistryTarget(reference, {
    ...configuredRegistryOptions(config),
    ...rest,
    credentials: chainCredentialProviders(
      typeof credentials === 'function' ? credentials : credentials && staticCredentials(credentials),
      configured,
      defaultCredentialProvider({
        ...(prompt && { prompt }),
        ...(env && { env }),
        ...(homeDir && { homeDir }),
      }),
    ),
  });
}
