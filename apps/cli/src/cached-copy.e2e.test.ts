import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildFixtureLayout,
  type FaultProxy,
  type FixtureLayout,
  pushFixture,
  startFaultProxy,
  startRegistry,
  type TestRegistry,
} from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './test/run-cli.js';

const USER = 'tester';
const PASSWORD = 'secret';
const CREDS = `${USER}:${PASSWORD}`;
const AUTH = Buffer.from(CREDS).toString('base64');

let work: string;
let single: FixtureLayout;
const stops: Array<() => Promise<void>> = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-e2e-'));
  single = await buildFixtureLayout(join(work, 'single'));
}, 60_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await rm(work, { recursive: true, force: true });
});

async function writeConfig(name: string, config: Record<string, unknown>): Promise<Record<string, string>> {
  const path = join(work, `${name}.json`);
  await writeFile(path, JSON.stringify({ cache_dir: join(work, 'cache'), ...config }));
  return { CONCIL_CONFIG: path };
}

/** What the cache holds for an image, asking no registry. */
async function cachedDigest(image: string, env: Record<string, string>): Promise<string> {
  const offline = await runCli(['pull', '--offline', '--json', image], env);
  expect(offline.stderr).toBe('');
  return JSON.parse(offline.stdout).manifestDescriptor.digest;
}

/**
 * Moves the tag to what the cache does not hold (the fixture pushed in the other format: the
 * other manifest digest), then copies the cached image with `flags` under a configuration that
 * has neither CA nor credentials: the cache must be brought up to date through the flags.
 */
async function copyAfterMove(
  pushTo: string,
  image: string,
  flags: string[],
  bare: Record<string, string>,
): Promise<void> {
  const before = await cachedDigest(image, bare);
  // skopeo keeps the layout's OCI manifest as it is; as v2s2 it is another document.
  await pushFixture(single.dir, pushTo, {
    format: before === single.root.digest ? 'v2s2' : 'oci',
    credentials: CREDS,
  });
  const out = join(work, `out-${flags.join('-').replace(/[^\w-]/g, '')}`);
  const copied = await runCli(['copy', '--json', '--src-creds', CREDS, ...flags, image, out], bare);
  expect(copied.stderr).toBe('');
  expect(copied.code).toBe(0);
  const digest = JSON.parse(copied.stdout).descriptor.digest;
  expect(digest).not.toBe(before);
  expect(await cachedDigest(image, bare)).toBe(digest);
}

describe('copy from a cached source whose tag moved honours the source flags', () => {
  let registry: TestRegistry;
  let image: string;
  let bare: Record<string, string>;

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'basic', users: { [USER]: PASSWORD }, tls: true });
    stops.push(() => registry.stop());
    image = `docker://${registry.host}/app:1`;
    await pushFixture(single.dir, `${registry.host}/app:1`, { format: 'v2s2', credentials: CREDS });
    // A loopback host gets plain HTTP unless the configuration says https://.
    const https = { remote_servers: { [registry.host]: { registry: `https://${registry.host}` } } };
    // Cached once with a configuration that has the CA and the credentials...
    const seed = await writeConfig('tls-seed', {
      ...https,
      cafile: registry.tls!.caPath,
      auths: { [registry.host]: AUTH },
    });
    expect((await runCli(['pull', image], seed)).code).toBe(0);
    // ...and copied later under one that has neither.
    bare = await writeConfig('tls-bare', https);
  }, 120_000);

  it('--src-creds and --ca-file', async () => {
    await copyAfterMove(`${registry.host}/app:1`, image, ['--ca-file', registry.tls!.caPath], bare);
  }, 30_000);

  it('--src-creds and --insecure', async () => {
    await copyAfterMove(`${registry.host}/app:1`, image, ['--insecure'], bare);
  }, 30_000);

  it('--src-creds and --cert-dir', async () => {
    const certDir = join(work, 'certs.d');
    await mkdir(certDir, { recursive: true });
    await copyFile(registry.tls!.caPath, join(certDir, 'ca.crt'));
    await copyAfterMove(`${registry.host}/app:1`, image, ['--cert-dir', certDir], bare);
  }, 30_000);

  it('--src-creds and --plain-http, for a host that is not loopback by name', async () => {
    const plain = await startRegistry({ auth: 'basic', users: { [USER]: PASSWORD } });
    stops.push(() => plain.stop());
    // 0.0.0.0 reaches the loopback registry, but by name it gets HTTPS unless told otherwise.
    const host = plain.host.replace('127.0.0.1', '0.0.0.0');
    const plainImage = `docker://${host}/app:1`;
    await pushFixture(single.dir, `${plain.host}/app:1`, { format: 'v2s2', credentials: CREDS });
    const seed = await writeConfig('plain-seed', {
      remote_servers: { [host]: { registry: `http://${host}` } },
      auths: { [host]: AUTH },
    });
    expect((await runCli(['pull', plainImage], seed)).code).toBe(0);
    await copyAfterMove(`${plain.host}/app:1`, plainImage, ['--plain-http'], bare);
  }, 60_000);
});

describe('copy --all from a cached index', () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let multi: FixtureLayout;

  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.url);
    stops.push(
      () => registry.stop(),
      () => proxy.stop(),
    );
    multi = await buildFixtureLayout(join(work, 'multi'), { platforms: ['linux/amd64', 'linux/arm64'] });
    await pushFixture(multi.dir, `${registry.host}/multi:1`, { format: 'index' });
  }, 120_000);

  it('reads what the cache holds from it and only the rest from the registry', async () => {
    const env = await writeConfig('multi', { cache_dir: join(work, 'multi-cache') });
    const image = `docker://${proxy.host}/multi:1`;
    expect((await runCli(['pull', '--platform', 'linux/amd64', image], env)).code).toBe(0);

    proxy.requests.length = 0;
    const copied = await runCli(['copy', '--all', '--json', image, join(work, 'all')], env);
    expect(copied.stderr).toBe('');
    const result = JSON.parse(copied.stdout);
    expect(result.descriptor.digest).toBe(multi.root.digest);
    const [amd, arm] = multi.images;
    const cached = new Set([amd!.manifest.digest, amd!.config.digest, ...amd!.layers.map((l) => l.digest)]);
    const fromRegistry = [
      arm!.manifest.digest,
      arm!.config.digest,
      ...arm!.layers.map((l) => l.digest),
    ].filter((digest) => !cached.has(digest));
    const gets = proxy.requests.filter((r) => r.method === 'GET').map((r) => r.url.split('/').pop());
    expect(gets.sort()).toEqual(fromRegistry.sort());
  }, 30_000);
});
