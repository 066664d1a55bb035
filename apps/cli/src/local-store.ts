import type { Store } from '@concil/store';
import { loadTrustPolicy } from './trust-policy.js';

/**
 * The local cache, its package loaded when a command first needs it (see main.ts), with the
 * configuration's trust policy asked before anything pulled is kept.
 */
export async function openLocalStore(): Promise<Store> {
  const { loadConfig, openStore } = await import('@concil/store');
  const { config } = await loadConfig();
  const policy = await loadTrustPolicy(config);
  return openStore({ config, ...(policy && { trustVerifier: policy.storeVerifier() }) });
}
