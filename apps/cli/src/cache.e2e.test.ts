import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, type ProxiedImage, startProxiedImage, USER } from './test/proxied-image.js';
import { runCli } from './test/run-cli.js';

const run = promisify(execFile);
let setup: ProxiedImage;
let proxy: ProxiedImage['proxy'];
let work: string;
let env: Record<string, string>;
let image: string;

beforeAll(async () => {
  setup = await startProxiedImage('v2s2');
  ({ proxy, work } = setup);
  image = `docker://${proxy.host}/app:1`;
  const config = join(work, 'config.json');
  await writeFile(
    config,
    JSON.stringify({
      cache_dir: join(work, 'cache'),
      auths: { [proxy.host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } },
    }),
  );
  env = { CONCIL_CONFIG: config };
}, 120_000);

afterAll(() => setup?.stop());

const blobGets = () => proxy.requests.filter((r) => r.method === 'GET' && r.url.includes('/blobs/')).length;

describe('concil pull, cache and config', () => {
  it('shows where the configuration is read from and masks secrets', async () => {
    expect((await runCli(['config', 'path'], env)).stdout.trim()).toBe(env.CONCIL_CONFIG);
    const shown = await runCli(['config', 'show', '--json'], env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(join(work, 'cache'));
    expect(shown.stdout).not.toContain(Buffer.from(`${USER}:${PASSWORD}`).toString('base64'));
  });

  it('pulls into the cache with squashfs layers that unsquashfs reads, then answers from one HEAD', async () => {
    const pulled = await runCli(['pull', '--squashfs', '--json', image], env);
    expect(pulled.stderr).toBe('');
    const result = JSON.parse(pulled.stdout);
    expect(result.layers).toHaveLength(2);
    for (const layer of result.layers) {
      const { stdout } = await run('unsquashfs', ['-lln', layer.squashfsPath]);
      expect(stdout).toContain('squashfs-root/');
    }
    proxy.requests.length = 0;
    const again = await runCli(['pull', '--json', image], env);
    expect(JSON.parse(again.stdout).fromCache).toBe(true);
    // One manifest HEAD; a registry with auth first answers it with its challenge (401).
    expect(proxy.requests.every((r) => r.method === 'HEAD' && r.url.includes('/manifests/'))).toBe(true);
    expect(proxy.requests.filter((r) => r.authorization)).toHaveLength(1);
  });

  it('copies a cached image from the cache, and from the registry with --no-cache', async () => {
    proxy.requests.length = 0;
    const cached = await runCli(['copy', '--json', image, join(work, 'from-cache')], env);
    expect(cached.stderr).toBe('');
    expect(JSON.parse(cached.stdout).blobsCopied).toBe(3);
    expect(blobGets()).toBe(0);

    proxy.requests.length = 0;
    const direct = await runCli(['copy', '--no-cache', '--json', image, join(work, 'direct')], env);
    expect(JSON.parse(direct.stdout).descriptor.digest).toBe(JSON.parse(cached.stdout).descriptor.digest);
    expect(blobGets()).toBe(3);
  });

  it('lists, verifies and prunes the cache', async () => {
    const listed = await runCli(['cache', 'ls', '--json'], env);
    expect(JSON.parse(listed.stdout)).toHaveLength(1);
    const verified = await runCli(['cache', 'verify'], env);
    expect(verified.code).toBe(0);
    expect((await runCli(['cache', 'prune', '--all'], env)).code).toBe(0);
    expect(JSON.parse((await runCli(['cache', 'ls', '--json'], env)).stdout)).toHaveLength(0);
  });
});
