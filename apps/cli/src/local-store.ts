import type { Store } from '@concil/store';

/** The local cache, its package loaded when a command first needs it (see main.ts). */
export async function openLocalStore(): Promise<Store> {
  const { openStore } = await import('@concil/store');
  return openStore();
}
