import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FaultProxy, startFaultProxy, startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll } from 'vitest';
import { type ConcilConfig, parseConfig } from '../config.js';
import { openStore, type Store, type StoreOptions } from '../store.js';

export interface Harness {
  registry: TestRegistry;
  /** Counts every request the store makes: images are pulled through it. */
  proxy: FaultProxy;
  dir: string;
  /** A fresh store in its own cache directory. */
  store(config?: Record<string, unknown>, options?: StoreOptions): Promise<Store>;
  stop(): Promise<void>;
}

export function configOf(cacheDir: string, config: Record<string, unknown> = {}): ConcilConfig {
  return parseConfig(JSON.stringify({ cache_dir: cacheDir, ...config }), join(cacheDir, 'config.json'));
}

export async function startHarness(): Promise<Harness> {
  const registry = await startRegistry();
  const proxy = await startFaultProxy(registry.url);
  const dir = await mkdtemp(join(tmpdir(), 'concil-store-'));
  let count = 0;
  return {
    registry,
    proxy,
    dir,
    async store(config = {}, options = {}) {
      const cacheDir = join(dir, `cache-${++count}`);
      return openStore({
        config: configOf(cacheDir, config),
        lockStaleMs: 3000,
        ...options,
      });
    },
    async stop() {
      await proxy.stop();
      await registry.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A harness for the tests of one file: started before them (before the file's own `beforeAll`,
 * when called first) and stopped after them. Its fields are there once the hooks have run.
 */
export function useHarness(): Harness {
  const harness = {} as Harness;
  beforeAll(async () => {
    Object.assign(harness, await startHarness());
  }, 60_000);
  afterAll(async () => {
    await harness.stop?.();
  });
  return harness;
}
