import type { Store } from '@concil/store';

/**
 * The local cache, its package loaded when a command first needs it (see main.ts), with the
 * configuration's trust policy asked before anything pulled is kept.
 */
export async function openLocalStore(): Promise<Store> {
  const [{ loadConfig, openStore }, { loadTrustPolicy }] = await Promise.all([
    import('@concil/store'),
    import('./trust-policy.js'),
  ]);
  const { config } = await loadConfig();
  const policy = await loadTrustPolicy(config);
  return openStore({ config, ...(policy && { trustVerifier: policy.storeVerifier() }) });
}
