import { execFile } from 'node:child_process';
import { readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { startRegistry } from '@concil/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { StoreError } from './errors.js';
import { type BuiltImage, buildImage, pushImage, pushIndex, randomFile } from './testing/fixtures.js';
import { useHarness } from './testing/harness.js';
import type { TrustVerifier } from './trust.js';

const run = promisify(execFile);

const h = useHarness();
let image: BuiltImage;
let ref: string;

beforeAll(async () => {
  image = buildImage([
    { files: [randomFile('etc/base.bin', 300_000), randomFile('etc/hosts', 20)] },
    { files: [randomFile('app/run.bin', 200_000)], compression: 'none' },
    { files: [randomFile('usr/lib/a.so', 70_001), randomFile('usr/lib/b.so', 333)], umociStyle: true },
    {
      files: [{ name: 'srv/zstd.txt', content: Buffer.from('zstd layer\n'.repeat(5000)) }],
      compression: 'zstd',
    },
  ]);
  await pushImage(h.registry.url, 'team/app', '1.0', image);
  ref = `docker://${h.proxy.host}/team/app:1.0`;
}, 60_000);

/** An index of two images, linux/amd64 and linux/arm64, of one small layer each. */
async function pushTwoPlatforms(repository: string, tag: string) {
  const amd = buildImage([{ files: [randomFile('amd', 500)] }], { architecture: 'amd64' });
  const arm = buildImage([{ files: [randomFile('arm', 500)] }], { architecture: 'arm64' });
  const index = await pushIndex(h.registry.url, repository, tag, [
    { image: amd, architecture: 'amd64' },
    { image: arm, architecture: 'arm64' },
  ]);
  return { amd, arm, index };
}

function manifestHeads() {
  return h.proxy.requests.filter((r) => r.method === 'HEAD' && r.url.includes('/manifests/'));
}

describe('pull', () => {
  it('pulls an image, then pulls it again with one HEAD, and offline with none', async () => {
    const store = await h.store();
    h.proxy.requests.length = 0;
    const first = await store.pull(ref);
    expect(first.fromCache).toBe(false);
    expect(first.manifestDescriptor.digest).toBe(image.manifestDescriptor.digest);
    expect(first.layers.map((l) => l.descriptor.digest)).toEqual(
      image.layers.map((l) => l.descriptor.digest),
    );
    expect(first.layers.map((l) => l.diffId)).toEqual(image.layers.map((l) => l.diffId));
    for (const [i, layer] of first.layers.entries()) {
      expect(Buffer.compare(await readFile(layer.path!), image.layers[i]!.bytes)).toBe(0);
    }
    expect(first.config.rootfs?.diff_ids).toEqual(image.layers.map((l) => l.diffId));

    h.proxy.requests.length = 0;
    const second = await store.pull(ref);
    expect(second.fromCache).toBe(true);
    expect(h.proxy.requests).toHaveLength(1);
    expect(manifestHeads()).toHaveLength(1);
    expect(second.layers.map((l) => l.path)).toEqual(first.layers.map((l) => l.path));

    h.proxy.requests.length = 0;
    const offline = await store.pull(ref, { offline: true });
    expect(h.proxy.requests).toHaveLength(0);
    expect(offline.manifestDescriptor.digest).toBe(image.manifestDescriptor.digest);

    const pinned = `docker://${h.proxy.host}/team/app@${image.manifestDescriptor.digest}`;
    h.proxy.requests.length = 0;
    await store.pull(pinned);
    expect(h.proxy.requests).toHaveLength(0);
    expect((await store.verify()).problems).toEqual([]);
  });

  it('refuses offline what it does not hold', async () => {
    const store = await h.store();
    await expect(store.pull(ref, { offline: true })).rejects.toMatchObject({ code: 'NOT_CACHED' });
  });

  it('pulls a tag that moved: one HEAD, then only what is new', async () => {
    const store = await h.store();
    const v1 = buildImage([{ files: [randomFile('a', 1000)] }, { files: [randomFile('b', 1000)] }]);
    await pushImage(h.registry.url, 'team/moving', 'latest', v1);
    const moving = `docker://${h.proxy.host}/team/moving`;
    await store.pull(moving);
    const v2 = buildImage([{ files: [randomFile('c', 1000)] }]);
    await pushImage(h.registry.url, 'team/moving', 'latest', v2);
    const pulled = await store.pull(moving);
    expect(pulled.fromCache).toBe(false);
    expect(pulled.manifestDescriptor.digest).toBe(v2.manifestDescriptor.digest);
  });

  it('selects the platform of an index and keeps the index, so the tag costs one HEAD', async () => {
    const store = await h.store();
    const { amd, arm, index } = await pushTwoPlatforms('team/multi', '2.0');
    const multi = `docker://${h.proxy.host}/team/multi:2.0`;
    const pulled = await store.pull(multi, { platform: 'linux/arm64' });
    expect(pulled.root.digest).toBe(index.digest);
    expect(pulled.manifestDescriptor.digest).toBe(arm.manifestDescriptor.digest);
    h.proxy.requests.length = 0;
    const again = await store.pull(multi, { platform: 'linux/arm64' });
    expect(again.fromCache).toBe(true);
    expect(h.proxy.requests).toHaveLength(1);
    const other = await store.pull(multi, { platform: 'linux/amd64' });
    expect(other.fromCache).toBe(false);
    expect(other.manifestDescriptor.digest).toBe(amd.manifestDescriptor.digest);
  });

  it('detects a damaged blob (verify, and on use by its size) and fetches it again', async () => {
    const store = await h.store();
    const pulled = await store.pull(ref);
    const [first, second] = pulled.layers;
    // Same size, other bytes: only re-hashing finds it.
    const bytes = await readFile(first!.path!);
    bytes[10] = (bytes[10]! + 1) % 256;
    await writeFile(first!.path!, bytes);
    const report = await store.verify();
    expect(report.problems).toMatchObject([{ kind: 'blob', subject: first!.descriptor.digest }]);
    // Truncated: found on use, by its size.
    await truncate(second!.path!, 10);
    h.proxy.requests.length = 0;
    const again = await store.pull(ref);
    expect(again.fromCache).toBe(false);
    expect(again.blobsCopied).toBe(2);
    const blobGets = h.proxy.requests.filter((r) => r.method === 'GET' && r.url.includes('/blobs/'));
    expect(blobGets).toHaveLength(2);
    expect((await store.verify()).problems).toEqual([]);
  });

  it('converts layers to squashfs on the way in; unsquashfs lists the tar entries', async () => {
    const store = await h.store();
    const pulled = await store.pull(ref, { squashfs: true });
    for (const [i, layer] of pulled.layers.entries()) {
      expect(layer.squashfsPath).toBeDefined();
      expect(layer.diffId).toBe(image.layers[i]!.diffId);
      const { stdout } = await run('unsquashfs', ['-lln', layer.squashfsPath!]);
      for (const name of image.layers[i]!.names) expect(stdout).toContain(`squashfs-root/${name}`);
      // Found again by either digest.
      expect(await store.squashfsPath(layer.descriptor.digest)).toBe(layer.squashfsPath);
      expect(await store.squashfsPath(layer.diffId!)).toBe(layer.squashfsPath);
    }
    const { stdout: head } = await run('unsquashfs', ['-s', pulled.layers[0]!.squashfsPath!]);
    expect(head).toMatch(/Compression zstd/);
  });

  it('keeps nothing of a layer served corrupt, stops its conversion, and fetches it again next time', async () => {
    const store = await h.store();
    const target = image.layers[0]!.descriptor.digest;
    h.proxy.inject({ kind: 'corrupt', match: { method: 'GET', path: new RegExp(`/blobs/${target}`) } });
    const error = await store.pull(ref, { squashfs: true }).catch((e: unknown) => e);
    h.proxy.clear();
    expect(error).toMatchObject({ code: 'DIGEST_INVALID' });
    expect(await store.hasBlob(image.layers[0]!.descriptor)).toBe(false);
    expect(await store.squashfsPath(target)).toBeUndefined();
    expect(await readdir(store.layout.tmpDir)).toEqual([]);
    expect(await store.list()).toEqual([]);
    const pulled = await store.pull(ref, { squashfs: true });
    expect(pulled.layers[0]!.diffId).toBe(image.layers[0]!.diffId);
    expect((await store.verify()).problems).toEqual([]);
  });

  it('refuses a layer whose tar is not the diff_id its config names (DIFF_ID_MISMATCH), recording no image', async () => {
    const claimed = `sha256:${'0'.repeat(64)}`;
    const lying = buildImage([
      { files: [randomFile('fine', 1000)] },
      { files: [randomFile('lying', 1000)], configDiffId: claimed },
    ]);
    await pushImage(h.registry.url, 'team/lying', '1', lying);
    const reference = `docker://${h.proxy.host}/team/lying:1`;
    const layer = lying.layers[1]!;
    const mismatch = {
      code: 'DIFF_ID_MISMATCH',
      subject: layer.descriptor.digest,
      message: `layer ${layer.descriptor.digest} unpacks to a tar with digest ${layer.diffId}, but the image config says ${claimed}: the image is inconsistent; nothing was kept`,
    };
    // Converted on the way in.
    const store = await h.store();
    const error = await store.pull(reference, { squashfs: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject(mismatch);
    expect(await store.list()).toEqual([]);
    expect(await store.squashfsPath(layer.descriptor.digest)).toBeUndefined();
    expect(await readdir(store.layout.tmpDir)).toEqual([]);
    await expect(store.pull(reference, { offline: true })).rejects.toMatchObject({ code: 'NOT_CACHED' });
    // Converted from the cache, where the image came in as it is.
    const plain = await h.store();
    expect((await plain.pull(reference)).layers.map((l) => l.diffId)).toEqual([
      lying.layers[0]!.diffId,
      claimed,
    ]);
    await expect(plain.pull(reference, { squashfs: true, offline: true })).rejects.toMatchObject(mismatch);
    expect(await plain.squashfsPath(layer.descriptor.digest)).toBeUndefined();
  });

  it('converts the layers of an image cached without squashfs from the cache, offline', async () => {
    const store = await h.store();
    await store.pull(ref);
    h.proxy.requests.length = 0;
    const pulled = await store.pull(ref, { squashfs: true, offline: true });
    expect(h.proxy.requests).toHaveLength(0);
    expect(pulled.layers.every((layer) => layer.squashfsPath)).toBe(true);
    const { stdout } = await run('unsquashfs', ['-lln', pulled.layers[2]!.squashfsPath!]);
    expect(stdout).toContain('squashfs-root/usr/lib/b.so');
  });

  it('requires a verifier when trust is configured, and asks it before anything is kept', async () => {
    const required = await h.store({ content_trust: 'cosign' });
    h.proxy.requests.length = 0;
    await expect(required.pull(ref)).rejects.toMatchObject({
      code: 'TRUST_REQUIRED',
      message: `content trust is required for ${h.proxy.host}/team/app:1.0 (content_trust "cosign", disable_content_trust false) but no cosign verifier was given (the store's trustVerifier: a TrustPolicy of @concil/trust); set "disable_content_trust": true in the configuration to pull without trust`,
    });
    expect(h.proxy.requests).toEqual([]);
    expect(await required.list()).toEqual([]);

    const asked: string[] = [];
    const verifier: TrustVerifier = {
      async verify(reference, desc, bytes) {
        asked.push(reference);
        expect(desc.digest).toBe(image.manifestDescriptor.digest);
        expect(Buffer.compare(Buffer.from(bytes), image.manifest)).toBe(0);
      },
    };
    const trusted = await h.store({ content_trust: 'cosign' }, { trustVerifier: verifier });
    await trusted.pull(ref);
    expect(asked).toEqual([`${h.proxy.host}/team/app:1.0`]);

    const refusing = await h.store(
      { content_trust: 'notary' },
      {
        trustVerifier: {
          verify: async () => {
            throw new Error('no valid signature');
          },
        },
      },
    );
    h.proxy.requests.length = 0;
    const error = await refusing.pull(ref).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('TRUST_FAILED');
    expect(h.proxy.requests.some((r) => r.url.includes('/blobs/'))).toBe(false);
    expect(await refusing.list()).toEqual([]);

    const off = await h.store({ content_trust: 'cosign', disable_content_trust: true });
    await expect(off.pull(ref)).resolves.toBeDefined();
  });

  it("asks the verifier's resolveTag for the digest (Notary), never the registry for the tag, and verifies a cached image again", async () => {
    const digest = image.manifestDescriptor.digest;
    const asked: string[] = [];
    const verifier: TrustVerifier = {
      async resolveTag(reference) {
        asked.push(`resolve ${reference}`);
        return { digest, size: image.manifestDescriptor.size };
      },
      async verify(reference, desc, _bytes, source) {
        asked.push(`verify ${reference} ${desc.digest} ${source.name}`);
      },
    };
    const store = await h.store({ content_trust: 'notary' }, { trustVerifier: verifier });
    h.proxy.requests.length = 0;
    await store.pull(ref);
    expect(h.proxy.requests.some((r) => r.url.endsWith('/manifests/1.0'))).toBe(false);
    expect(h.proxy.requests.some((r) => r.url.endsWith(`/manifests/${digest}`))).toBe(true);
    const key = `${h.proxy.host}/team/app:1.0`;
    expect(asked).toEqual([`resolve ${key}`, `verify ${key} ${digest} ${ref}`]);
    asked.length = 0;
    const cached = await store.pull(ref);
    expect(cached.fromCache).toBe(true);
    expect(asked).toEqual([`resolve ${key}`, `verify ${key} ${digest} ${ref}`]);
  });

  it('serves a cached image to the copy engine without asking the registry', async () => {
    const store = await h.store();
    expect(await store.cachedTarget(ref)).toBeUndefined();
    await store.pull(ref);
    const target = await store.cachedTarget(ref);
    expect(target).toBeDefined();
    const { copy, ImageDirectory } = await import('@concil/image');
    h.proxy.requests.length = 0;
    const out = new ImageDirectory(`${h.dir}/copied`);
    const result = await copy(target!, out);
    expect(result.descriptor.digest).toBe(image.manifestDescriptor.digest);
    // A bare tag resolves in the image's repository, as it does against a registry.
    expect((await target!.resolve('1.0')).digest).toBe(image.manifestDescriptor.digest);
    await expect(target!.resolve('2.0')).rejects.toMatchObject({ code: 'NOT_CACHED' });
    expect(h.proxy.requests).toHaveLength(0);
  });
});

describe('a cached index, read whole', () => {
  it('serves every platform: what the cache holds from it, the rest from the registry', async () => {
    const store = await h.store();
    const { arm, index } = await pushTwoPlatforms('team/whole', '1');
    const whole = `docker://${h.proxy.host}/team/whole:1`;
    const { copy, ImageDirectory, openTarget } = await import('@concil/image');
    const registry = openTarget(whole);
    expect(await store.cachedIndexTarget(whole, registry)).toBeUndefined();
    await store.pull(whole, { platform: 'linux/amd64' });

    const target = await store.cachedIndexTarget(whole, registry);
    h.proxy.requests.length = 0;
    const result = await copy(target!, new ImageDirectory(`${h.dir}/whole`), { all: true });
    expect(result.descriptor.digest).toBe(index.digest);
    expect(result.blobsCopied).toBe(4); // a config and a layer per platform
    // Only arm64's manifest, config and layer came from the registry.
    const gets = h.proxy.requests.filter((r) => r.method === 'GET').map((r) => r.url.split('/').pop());
    expect(gets.sort()).toEqual(
      [arm.manifestDescriptor.digest, arm.configDescriptor.digest, arm.layers[0]!.descriptor.digest].sort(),
    );
  });
});

describe('configuration honoured by pull', () => {
  it('remote_servers sends a host to another registry; the cache keeps the name asked for', async () => {
    const store = await h.store({
      remote_servers: { 'registry.example.com': { registry: `http://${h.proxy.host}` } },
    });
    h.proxy.requests.length = 0;
    const pulled = await store.pull('docker://registry.example.com/team/app:1.0');
    expect(pulled.reference).toBe('registry.example.com/team/app:1.0');
    expect(pulled.manifestDescriptor.digest).toBe(image.manifestDescriptor.digest);
    // Everything came from the registry remote_servers names: the tag, the manifest, the config, 4 layers.
    const seen = h.proxy.requests.map((r) => `${r.method} ${r.url}`);
    const blobs = [image.configDescriptor, ...image.layers.map((l) => l.descriptor)];
    expect(seen.slice(0, 2)).toEqual([
      'HEAD /v2/team/app/manifests/1.0',
      `GET /v2/team/app/manifests/${image.manifestDescriptor.digest}`,
    ]);
    expect(seen.slice(2).sort()).toEqual(blobs.map((d) => `GET /v2/team/app/blobs/${d.digest}`).sort());
    expect((await store.list()).map((i) => i.reference)).toEqual(['registry.example.com/team/app:1.0']);
  });

  it('cafile is handed to the registry client (a missing file is named in the error)', async () => {
    const missing = `${h.dir}/no-such-ca.pem`;
    const store = await h.store({ cafile: missing });
    await expect(store.pull(ref)).rejects.toThrow(/no-such-ca\.pem/);
  });

  it('remote_servers may send a host to a registry below a path', async () => {
    const prefixed = await startRegistry({ prefix: '/some/prefix' });
    try {
      const small = buildImage([{ files: [randomFile('p', 100)] }]);
      await pushImage(`${prefixed.url}/some/prefix`, 'team/app', '1', small);
      const store = await h.store({
        remote_servers: { '127.0.0.1:5000': { registry: `${prefixed.url}/some/prefix` } },
      });
      const pulled = await store.pull('docker://127.0.0.1:5000/team/app:1');
      expect(pulled.reference).toBe('127.0.0.1:5000/team/app:1');
      expect(pulled.manifestDescriptor.digest).toBe(small.manifestDescriptor.digest);
    } finally {
      await prefixed.stop();
    }
  });

  it('auths gives the credentials of a registry that asks for them, in every form', async () => {
    const secured = await startRegistry({ auth: 'basic', users: { puller: 'pa55' } });
    try {
      const small = buildImage([{ files: [randomFile('x', 100)] }]);
      const basic = `Basic ${Buffer.from('puller:pa55').toString('base64')}`;
      await pushImageWithAuth(secured.url, 'sec/app', '1', small, basic);
      const without = await h.store();
      await expect(without.pull(`${secured.host}/sec/app:1`)).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
        message: `${secured.host} requires authentication for docker://${secured.host}/sec/app:1; log in or add credentials to ~/.concil/config.json auths`,
      });
      expect(await without.list()).toEqual([]);
      const encoded = Buffer.from('puller:pa55').toString('base64');
      const forms = [
        { [secured.host]: { auth: encoded } },
        // the Python concil's: a base64 string, keyed by the host name without port
        { '127.0.0.1': encoded },
        { [`http://${secured.host}/sec`]: { username: 'puller', password: 'pa55' } },
      ];
      for (const auths of forms) {
        const withAuth = await h.store({ auths });
        const pulled = await withAuth.pull(`${secured.host}/sec/app:1`);
        expect(pulled.manifestDescriptor.digest).toBe(small.manifestDescriptor.digest);
      }
      // credentials given with the pull (e.g. --creds) serve as well
      const given = await (await h.store()).pull(`${secured.host}/sec/app:1`, {
        registry: { credentials: { username: 'puller', password: 'pa55' } },
      });
      expect(given.manifestDescriptor.digest).toBe(small.manifestDescriptor.digest);
    } finally {
      await secured.stop();
    }
  });
});

async function pushImageWithAuth(
  url: string,
  repo: string,
  tag: string,
  built: BuiltImage,
  authorization: string,
) {
  const original = globalThis.fetch;
  globalThis.fetch = (input, init) =>
    original(input, { ...init, headers: { ...(init?.headers as Record<string, string>), authorization } });
  try {
    await pushImage(url, repo, tag, built);
  } finally {
    globalThis.fetch = original;
  }
}
