import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpProxy, startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import { RegistryError } from './errors.js';

const noCredentials = async () => undefined;

describe('TLS', () => {
  let registry: TestRegistry;
  let mutual: TestRegistry;
  let dir: string;

  beforeAll(async () => {
    [registry, mutual] = await Promise.all([
      startRegistry({ tls: true }),
      startRegistry({ tls: { clientAuth: true } }),
    ]);
    dir = await mkdtemp(join(tmpdir(), 'concil-certs-'));
  });
  afterAll(async () => {
    await Promise.all([registry?.stop(), mutual?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const catalog = async (target: TestRegistry, options: RegistryClientOptions) => {
    const client = new RegistryClient(target.host, {
      plainHttp: false,
      credentials: noCredentials,
      ...options,
    });
    try {
      return await client.listRepositories();
    } finally {
      await client.close();
    }
  };

  it('verifies certificates by default and says how to trust a CA', async () => {
    const error = await catalog(registry, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ code: 'TLS' });
    expect((error as Error).message).toContain('--ca-file');
  });

  it('trusts a CA file', async () => {
    expect(await catalog(registry, { caFile: registry.tls!.caPath })).toEqual([]);
  });

  it('trusts *.crt files of a cert directory', async () => {
    const certDir = join(dir, 'server-ca');
    await mkdir(certDir);
    await copyFile(registry.tls!.caPath, join(certDir, 'ca.crt'));
    expect(await catalog(registry, { certDir })).toEqual([]);
  });

  it('says when a CA file cannot be read', async () => {
    const error = await catalog(registry, { caFile: join(dir, 'missing.pem') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ code: 'TLS' });
    expect((error as Error).message).toContain('missing.pem');
  });

  it('skips verification only when told to', async () => {
    expect(await catalog(registry, { insecure: true })).toEqual([]);
  });

  it('presents the client certificate of a cert directory', async () => {
    const certDir = join(dir, 'mutual');
    await mkdir(certDir);
    await copyFile(mutual.tls!.caPath, join(certDir, 'ca.crt'));
    const without = await catalog(mutual, { certDir, retry: { maxRetries: 1, baseDelayMs: 1 } }).catch(
      (e: unknown) => e,
    );
    expect(without).toBeInstanceOf(RegistryError);
    await copyFile(mutual.tls!.clientCertPath!, join(certDir, 'client.cert'));
    await copyFile(mutual.tls!.clientKeyPath!, join(certDir, 'client.key'));
    expect(await catalog(mutual, { certDir })).toEqual([]);
  });
});

describe('network failures', () => {
  it('names the host it cannot reach (NETWORK)', async () => {
    const client = new RegistryClient('127.0.0.1:1', {
      credentials: noCredentials,
      retry: { maxRetries: 1, baseDelayMs: 1 },
    });
    const error = await client.listTags('app').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NETWORK' });
    expect((error as Error).message).toContain('cannot reach 127.0.0.1:1');
    await client.close();
  });
});

describe('proxies', () => {
  it('goes through an HTTP proxy, and around it for NO_PROXY hosts', async () => {
    const registry = await startRegistry();
    const proxy = await startHttpProxy();
    try {
      const proxied = new RegistryClient(registry.host, {
        credentials: noCredentials,
        proxy: { httpProxy: proxy.url, noProxy: '' },
      });
      expect(await proxied.listRepositories()).toEqual([]);
      expect(proxy.targets).toContain(registry.host);
      await proxied.close();

      const count = proxy.targets.length;
      const direct = new RegistryClient(registry.host, {
        credentials: noCredentials,
        proxy: { httpProxy: proxy.url, noProxy: '127.0.0.1' },
      });
      expect(await direct.listRepositories()).toEqual([]);
      expect(proxy.targets.length).toBe(count);
      await direct.close();
    } finally {
      await proxy.stop();
      await registry.stop();
    }
  });
});
