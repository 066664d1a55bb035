import type { ConcilConfig } from '@concil/store';
import type { TrustPolicy } from '@concil/trust';
import { keyDirectoryPath } from './cosign-keys.js';

/**
 * The content trust policy of the configuration, or undefined when no image must be verified (then
 * the trust package is not even loaded). Every command that takes an image from a registry —
 * `pull`, `copy` (also through the cache), `process`, `publish`, `search` — reads it through this policy.
 */
export async function loadTrustPolicy(config: ConcilConfig): Promise<TrustPolicy | undefined> {
  if (config.disable_content_trust && Object.keys(config.remote_servers).length === 0) return undefined;
  const { CosignKeyDirectory, cosignMethodFactory, NotaryVerifier, notaryTrustMethod, TrustPolicy } =
    await import('@concil/trust');
  // One factory per trust system, made when an image first needs it.
  const policy = new TrustPolicy(config, {
    cosign: cosignMethodFactory(new CosignKeyDirectory(keyDirectoryPath(config))),
    notary: () => notaryTrustMethod(NotaryVerifier.fromConfig(config)),
  });
  return policy.enforcesAnything ? policy : undefined;
}
