import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  computeDigest,
  encodeManifest,
  ensureVerified,
  type ImageIndex,
  type ImageManifest,
  MediaType,
  OciSpecError,
} from '@concil/oci-spec';
import { startFaultProxy, startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCredentialProvider } from './auth/config-sources.js';
import { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import { makeBlob, makeImage, piecewise, pushImage, randomBlob, readAll } from './test-helpers/image.js';

let registry: TestRegistry;
let client: RegistryClient;

beforeAll(async () => {
  registry = await startRegistry();
  client = new RegistryClient(registry.host, { credentials: async () => undefined });
});

/** How many upload sessions of a repository the registry cancelled (DELETE answered 204). */
async function cancelledUploads(repository: string): Promise<number> {
  const log = await readFile(registry.logPath, 'utf8');
  return (
    log.match(new RegExp(`"DELETE /v2/${repository}/blobs/uploads/\\S+ HTTP/1.1" 204`, 'g'))?.length ?? 0
  );
}

afterAll(async () => {
  await client?.close();
  await registry?.stop();
});

describe('RegistryClient against docker-registry', () => {
  it('pushes a small image and reads it back', async () => {
    const image = makeImage([1000, 5000]);
    await pushImage(client, 'apps/small', image, 'v1');

    const fetched = await client.getManifest('apps/small', 'v1');
    expect(fetched.descriptor).toEqual(image.manifest.descriptor);
    expect(Buffer.from(fetched.bytes)).toEqual(Buffer.from(image.manifest.bytes));
    expect(fetched.manifest.kind).toBe('manifest');

    const head = await client.headManifest('apps/small', 'v1');
    expect(head).toEqual(image.manifest.descriptor);
    expect(await client.headManifest('apps/small', image.manifest.descriptor.digest)).toEqual(
      image.manifest.descriptor,
    );

    for (const blob of [image.config, ...image.layers]) {
      expect(await client.headBlob('apps/small', blob.descriptor.digest)).toEqual({
        digest: blob.descriptor.digest,
        size: blob.descriptor.size,
      });
      const bytes = await readAll(await client.fetchBlob('apps/small', blob.descriptor));
      expect(bytes.equals(blob.bytes)).toBe(true);
    }
  });

  it('sends a request that follows another on the same connection', async () => {
    const image = makeImage([1000]);
    await pushImage(client, 'apps/one-connection', image, 'v1');
    const logged = (await readFile(registry.logPath, 'utf8')).length;
    const reader = new RegistryClient(registry.host, { credentials: async () => undefined });
    try {
      // As a listing does: the manifest, then at once its config, each read to its end.
      const { manifest } = await reader.getManifest('apps/one-connection', 'v1');
      if (manifest.kind !== 'manifest') throw new Error('the test image is one manifest');
      await readAll(await reader.fetchBlob('apps/one-connection', manifest.manifest.config));
    } finally {
      await reader.close();
    }
    // The registry logs the client's address and port of each request it answered.
    const answered = (await readFile(registry.logPath, 'utf8'))
      .slice(logged)
      .split('\n')
      .filter((line) => line.includes('response completed'));
    const ports = answered.map((line) => /remoteaddr="[^"]*:(\d+)"/.exec(line)?.[1]);
    expect(ports).toHaveLength(2);
    expect(ports[0]).toMatch(/^\d+$/);
    expect(ports[1]).toBe(ports[0]);
  });

  it('uploads a blob above the chunk threshold in chunks and downloads it verified', async () => {
    const chunked = new RegistryClient(registry.host, {
      credentials: async () => undefined,
      chunkedThreshold: 100_000,
      chunkSize: 64 * 1024,
    });
    const blob = randomBlob(300_000 + 123);
    await chunked.pushBlob('apps/big', blob.descriptor, piecewise(blob.bytes));
    const log = await readFile(registry.logPath, 'utf8');
    expect(log.match(/"PATCH \/v2\/apps\/big\/blobs\/uploads\//g)?.length).toBe(5);
    const bytes = await readAll(await chunked.fetchBlob('apps/big', blob.descriptor));
    expect(bytes.equals(blob.bytes)).toBe(true);
    await chunked.close();
  });

  it('keeps working with one request slot while downloads stay open', async () => {
    const narrow = new RegistryClient(registry.host, {
      credentials: async () => undefined,
      maxConcurrency: 1,
    });
    const blobs = [randomBlob(300_000), randomBlob(300_000), randomBlob(300_000)];
    for (const blob of blobs)
      await narrow.pushBlob('apps/narrow', blob.descriptor, Readable.from([blob.bytes]));
    const open = await Promise.all(blobs.map((blob) => narrow.fetchBlob('apps/narrow', blob.descriptor)));
    // copy each open download into another repository while the others wait unread
    for (const [i, stream] of open.entries()) {
      await narrow.pushBlob('apps/narrow-copy', blobs[i]!.descriptor, stream);
    }
    for (const blob of blobs)
      expect(await narrow.headBlob('apps/narrow-copy', blob.descriptor.digest)).toEqual({
        digest: blob.descriptor.digest,
        size: blob.descriptor.size,
      });
    await narrow.close();
  });

  it('uploads in chunks when asked, whatever the size', async () => {
    const blob = randomBlob(50_000);
    await client.pushBlob('apps/asked', blob.descriptor, piecewise(blob.bytes), {
      chunked: true,
      chunkSize: 16_384,
    });
    expect(await client.headBlob('apps/asked', blob.descriptor.digest)).toEqual({
      digest: blob.descriptor.digest,
      size: blob.descriptor.size,
    });
  });

  it('refuses to commit an upload whose bytes do not match the digest', async () => {
    const blob = randomBlob(10_000);
    const wrong = Buffer.from(blob.bytes);
    wrong[5] = (wrong[5] ?? 0) ^ 1;
    const error = await client
      .pushBlob('apps/bad', blob.descriptor, Readable.from([wrong]), { chunked: true, chunkSize: 4096 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('DIGEST_INVALID');
    expect(await client.headBlob('apps/bad', blob.descriptor.digest)).toBeUndefined();
  });

  for (const chunked of [false, true]) {
    it(`ends a ${chunked ? 'chunked' : 'monolithic'} upload whose content failed verification before it started`, {
      timeout: 10_000,
    }, async () => {
      const blob = randomBlob(10_000);
      const corrupt = Buffer.from(blob.bytes);
      corrupt[5] = (corrupt[5] ?? 0) ^ 1;
      // A copy hands on content it verifies itself: a small blob fails while the upload starts.
      const content = ensureVerified(Readable.from([corrupt]), blob.descriptor);
      const repository = `apps/early-${chunked ? 'chunked' : 'monolithic'}`;
      const error = await client
        .pushBlob(repository, blob.descriptor, content, { chunked, chunkSize: 4096 })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OciSpecError);
      expect((error as OciSpecError).code).toBe('DIGEST_INVALID');
      expect(await client.headBlob(repository, blob.descriptor.digest)).toBeUndefined();
      expect(await cancelledUploads(repository)).toBe(1);
    });
  }

  it('mounts a blob across repositories, and falls back to an upload when it cannot', async () => {
    const blob = randomBlob(4096);
    await client.pushBlob('mount/source', blob.descriptor, Readable.from([blob.bytes]));
    expect(await client.mountBlob('mount/target', blob.descriptor.digest, 'mount/source')).toBe(true);
    expect(await client.headBlob('mount/target', blob.descriptor.digest)).toEqual({
      digest: blob.descriptor.digest,
      size: blob.descriptor.size,
    });

    const missing = randomBlob(100);
    expect(await client.mountBlob('mount/target', missing.descriptor.digest, 'mount/source')).toBe(false);
    const pushed = await client.pushBlob('mount/other', missing.descriptor, Readable.from([missing.bytes]), {
      mountFrom: 'mount/source',
    });
    expect(pushed.mounted).toBe(false);
    expect(await client.headBlob('mount/other', missing.descriptor.digest)).toEqual({
      digest: missing.descriptor.digest,
      size: missing.descriptor.size,
    });
  });

  it('lists tags and the catalog page by page', async () => {
    const image = makeImage([10]);
    await pushImage(client, 'paged/app', image, 'a');
    for (const tag of ['b', 'c', 'd', 'e']) {
      await client.putManifest('paged/app', tag, image.manifest.bytes, MediaType.ociManifest);
    }
    // distribution 2.8 ignores `n` for tags (the fault-proxy test paginates them); it pages the catalog.
    expect((await client.listTags('paged/app')).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);

    const catalog = await client.listRepositories({ pageSize: 1 });
    expect(catalog).toContain('paged/app');
    expect(catalog).toContain('apps/small');
    expect(catalog).toEqual([...catalog].sort());
  });

  it('finds referrers through the fallback tag when the registry has no referrers API', async () => {
    const image = makeImage([10]);
    await pushImage(client, 'refs/app', image, 'v1');
    expect(await client.listReferrers('refs/app', image.manifest.descriptor.digest)).toEqual([]);

    const empty = makeBlob(Buffer.from('{}'), MediaType.ociEmpty);
    await client.pushBlob('refs/app', empty.descriptor, Readable.from([empty.bytes]));
    const signature = encodeManifest(
      {
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        artifactType: 'application/vnd.example.signature',
        config: empty.descriptor,
        layers: [empty.descriptor],
        subject: image.manifest.descriptor,
        annotations: { 'org.example.signer': 'test' },
      } as ImageManifest,
      MediaType.ociManifest,
    );
    await client.putManifest('refs/app', signature.descriptor.digest, signature.bytes, MediaType.ociManifest);

    const referrers = await client.listReferrers('refs/app', image.manifest.descriptor.digest);
    expect(referrers).toEqual([
      {
        ...signature.descriptor,
        artifactType: 'application/vnd.example.signature',
        annotations: { 'org.example.signer': 'test' },
        // The referrer manifest itself rides along, so a reader needs no request for it.
        data: Buffer.from(signature.bytes).toString('base64'),
      },
    ]);
    const hex = image.manifest.descriptor.digest.slice('sha256:'.length);
    expect(await client.listTags('refs/app')).toContain(`sha256-${hex}`);
    expect(
      await client.listReferrers('refs/app', image.manifest.descriptor.digest, {
        artifactType: 'other/type',
      }),
    ).toEqual([]);
  });

  it('keeps the tag schema index under 1 MiB of embedded referrers: past it, referrers are listed without their content', async () => {
    const image = makeImage([12]);
    await pushImage(client, 'refs/many', image, 'v1');
    const empty = makeBlob(Buffer.from('{}'), MediaType.ociEmpty);
    await client.pushBlob('refs/many', empty.descriptor, Readable.from([empty.bytes]));
    const subject = image.manifest.descriptor;
    const tag = `sha256-${subject.digest.slice(7)}`;
    // An index written elsewhere, 1600 bytes short of 1 MiB (one entry with a large annotation):
    // room for one of the referrers below with its content (~1300 bytes), not for two.
    const seed = { ...subject, annotations: { 'org.example.pad': '' } };
    const seedIndex = (pad: number) =>
      encodeManifest(
        {
          schemaVersion: 2,
          mediaType: MediaType.ociIndex,
          manifests: [{ ...seed, annotations: { 'org.example.pad': 'x'.repeat(pad) } }],
        } as ImageIndex,
        MediaType.ociIndex,
      ).bytes;
    const seeded = seedIndex(1024 * 1024 - 1600 - seedIndex(0).byteLength);
    await client.putManifest('refs/many', tag, seeded, MediaType.ociIndex);
    const referrer = (n: number) =>
      encodeManifest(
        {
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          artifactType: 'application/vnd.example.signature',
          config: empty.descriptor,
          layers: [empty.descriptor],
          subject,
          annotations: { 'org.example.n': `${n}` },
        } as ImageManifest,
        MediaType.ociManifest,
      );
    const [first, second] = [referrer(1), referrer(2)];
    for (const each of [first, second]) {
      await client.putManifest('refs/many', each.descriptor.digest, each.bytes, MediaType.ociManifest);
    }
    const index = await client.getManifest('refs/many', tag);
    const listed = index.manifest.kind === 'index' ? index.manifest.index.manifests : [];
    expect(listed.map((m) => [m.digest, m.data])).toEqual([
      [subject.digest, undefined],
      // It fits below 1 MiB with its content …
      [first.descriptor.digest, Buffer.from(first.bytes).toString('base64')],
      // … the next one would not: listed without.
      [second.descriptor.digest, undefined],
    ]);
    expect(index.bytes.byteLength).toBeLessThan(1024 * 1024 + 1024);
  });

  it('asks the referrers API once: after a bare 404 it reads the tag schema directly', async () => {
    const proxy = await startFaultProxy(registry.url);
    try {
      const proxied = new RegistryClient(proxy.host);
      const image = makeImage([11]);
      await pushImage(proxied, 'refs/once', image, 'v1');
      const subject = image.manifest.descriptor.digest;
      proxy.requests.length = 0;
      expect(await proxied.listReferrers('refs/once', subject)).toEqual([]);
      expect(proxy.requests.map((r) => r.url)).toEqual([
        `/v2/refs/once/referrers/${subject}`,
        `/v2/refs/once/manifests/sha256-${subject.slice(7)}`,
      ]);
      proxy.requests.length = 0;
      expect(await proxied.listReferrers('refs/once', subject)).toEqual([]);
      expect(proxy.requests.map((r) => r.url)).toEqual([
        `/v2/refs/once/manifests/sha256-${subject.slice(7)}`,
      ]);
    } finally {
      await proxy.stop();
    }
  });

  it('deletes manifests and blobs', async () => {
    const image = makeImage([300]);
    await pushImage(client, 'del/app', image, 'v1');
    await client.deleteManifest('del/app', image.manifest.descriptor.digest);
    expect(await client.headManifest('del/app', image.manifest.descriptor.digest)).toBeUndefined();
    const layer = image.layers[0]!;
    await client.deleteBlob('del/app', layer.descriptor.digest);
    expect(await client.headBlob('del/app', layer.descriptor.digest)).toBeUndefined();
  });

  it('says which tag is unknown (MANIFEST_UNKNOWN)', async () => {
    const image = makeImage([10]);
    await pushImage(client, 'app', image, 'v1');
    const error = await client.getManifest('app', 'nope').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ code: 'MANIFEST_UNKNOWN', status: 404 });
    expect((error as RegistryError).message).toBe(
      `docker://${registry.host}/app:nope: tag not found (MANIFEST_UNKNOWN); check the tag with \`concil tags\``,
    );
    expect(await client.headManifest('app', 'nope')).toBeUndefined();
  });

  it('never asks for credentials when the registry does not want any', async () => {
    let asked = 0;
    const polite = new RegistryClient(registry.host, {
      credentials: defaultCredentialProvider({
        homeDir: '/nonexistent',
        env: {},
        prompt: async () => {
          asked += 1;
          return undefined;
        },
      }),
    });
    await expect(polite.getManifest('app', 'nope')).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
    expect(await polite.listTags('app')).toEqual(['v1']);
    expect(asked).toBe(0);
    await polite.close();
  });

  it('reports unknown blobs and repositories', async () => {
    const digest = computeDigest('nothing here');
    const error = await client.fetchBlob('app', { digest, size: 12 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BLOB_UNKNOWN', status: 404 });
    const missing = await client.listTags('no/such/repo').catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'NAME_UNKNOWN' });
  });

  it('passes on the registry rejecting a malformed manifest (MANIFEST_INVALID)', async () => {
    const bytes = Buffer.from('{"schemaVersion": 2, "config": "nope"}');
    const error = await client
      .putManifest('app', 'broken', bytes, MediaType.ociManifest)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ code: 'MANIFEST_INVALID' });
  });

  it('refuses a manifest that refers to blobs the repository lacks', async () => {
    const image = makeImage([10]);
    const error = await client
      .putManifest('lonely', 'v1', image.manifest.bytes, MediaType.ociManifest)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MANIFEST_BLOB_UNKNOWN', status: 400 });
  });
});
