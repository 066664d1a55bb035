import type { ReadOnlyTarget } from '@concil/oci-spec';
import type { ConcilConfig } from './config.js';
import { StoreError } from './errors.js';

type OpenRegistryTarget = (reference: string, options?: Record<string, unknown>) => Promise<ReadOnlyTarget>;

/**
 * Opens a reference's repository with `@concil/registry-client`, reaching it as the
 * configuration says: `remote_servers` (another registry URL for a host), `auths`, `cafile`.
 */
export async function openRegistrySource(reference: string, config: ConcilConfig): Promise<ReadOnlyTarget> {
  const client = (await import('@concil/registry-client')) as { openRegistryTarget?: OpenRegistryTarget };
  if (!client.openRegistryTarget) {
    throw new StoreError(
      'UNAVAILABLE',
      '@concil/registry-client does not provide openRegistryTarget in this build',
      reference,
    );
  }
  const { parseReference } = await import('@concil/oci-spec');
  const registry = parseReference(reference).registry;
  const server = config.remote_servers[registry];
  return client.openRegistryTarget(reference, {
    ...(server?.registry && { registryUrl: server.registry }),
    ...(config.cafile && { cafile: config.cafile }),
    ...(Object.keys(config.auths).length > 0 && { auths: config.auths }),
  });
}
