import { Readable } from 'node:stream';
import { MediaType } from '@concil/oci-spec';
import {
  type FaultProxy,
  startFaultProxy,
  startRegistry,
  type TestRegistry,
  tagListPagination,
} from '@concil/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import { makeImage, pushImage, randomBlob, readAll } from './test-helpers/image.js';

let registry: TestRegistry;
let proxy: FaultProxy;
let client: RegistryClient;
const blob = randomBlob(400_000);
const image = makeImage([1000]);
const users = { tester: 'secret' };

beforeAll(async () => {
  registry = await startRegistry({ auth: 'basic', users });
  proxy = await startFaultProxy(registry.url);
  client = new RegistryClient(proxy.host, {
    credentials: { username: 'tester', password: 'secret' },
    retry: { baseDelayMs: 20 },
  });
  await client.pushBlob('faulty', blob.descriptor, Readable.from([blob.bytes]));
  await pushImage(client, 'faulty', image, 'v1');
});

afterEach(() => {
  proxy.clear();
});

afterAll(async () => {
  await client?.close();
  await proxy?.stop();
  await registry?.stop();
});

const fetchAll = async (c = client) => readAll(await c.fetchBlob('faulty', blob.descriptor));

describe('faults injected by a loopback proxy in front of docker-registry', () => {
  it('rejects a blob whose bytes do not match its digest (DIGEST_INVALID)', async () => {
    proxy.inject({ kind: 'corrupt' });
    const error = await fetchAll().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ code: 'DIGEST_INVALID' });
    expect((error as Error).message).toContain(blob.descriptor.digest);
  });

  it('rejects a truncated blob served without Content-Length (SIZE_INVALID)', async () => {
    proxy.inject({ kind: 'truncate', afterBytes: 100_000 });
    const error = await fetchAll().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ code: 'SIZE_INVALID' });
    expect((error as Error).message).toContain('truncated');
  });

  it('resumes a download with Range after the connection drops, and verifies the whole', async () => {
    proxy.inject({ kind: 'drop', afterBytes: 150_000 });
    const start = proxy.requests.length;
    const bytes = await fetchAll();
    expect(bytes.equals(blob.bytes)).toBe(true);
    const gets = proxy.requests.slice(start).filter((r) => r.method === 'GET' && r.url.includes('/blobs/'));
    expect(gets.map((r) => r.fault ?? r.range)).toEqual(['drop', 'bytes=150000-']);
  });

  it('retries 500 twice and then succeeds', async () => {
    proxy.inject({ kind: 'status', status: 500, times: 2 });
    const fetched = await client.getManifest('faulty', 'v1');
    expect(fetched.descriptor).toEqual(image.manifest.descriptor);
    expect(proxy.pending()).toBe(0);
  });

  it('gives up after the bounded number of retries (SERVER_ERROR)', async () => {
    const impatient = new RegistryClient(proxy.host, {
      credentials: { username: 'tester', password: 'secret' },
      retry: { maxRetries: 2, baseDelayMs: 5 },
    });
    proxy.inject({ kind: 'status', status: 503, times: 3 });
    const error = await impatient.getManifest('faulty', 'v1').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SERVER_ERROR', status: 503 });
    await impatient.close();
  });

  it('waits for Retry-After on 429 with a body that is not JSON, then succeeds', async () => {
    proxy.inject({ kind: 'status', status: 429, headers: { 'retry-after': '1' }, body: 'slow down!' });
    const fetched = await client.getManifest('faulty', 'v1');
    expect(fetched.descriptor.digest).toBe(image.manifest.descriptor.digest);
    expect(proxy.pending()).toBe(0);
  });

  it('follows a redirect to another host without the Authorization header', async () => {
    proxy.inject({ kind: 'redirect' });
    const before = proxy.redirectTarget.requests.length;
    const bytes = await fetchAll();
    expect(bytes.equals(blob.bytes)).toBe(true);
    expect(proxy.redirectTarget.requests.length).toBe(before + 1);
    expect(proxy.redirectTarget.sawAuthorization()).toBe(false);
    // and the request to the registry itself did carry credentials
    expect(proxy.requests.filter((r) => r.fault === 'redirect').every((r) => r.authorization)).toBe(true);
  });

  it('reports a malformed manifest as MANIFEST_INVALID', async () => {
    proxy.inject({
      kind: 'body',
      body: '{"schemaVersion": 2, "layers": "not a list"',
      contentType: MediaType.ociManifest,
      match: { method: 'GET', path: /\/manifests\/v1$/ },
    });
    const error = await client.getManifest('faulty', 'v1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ code: 'MANIFEST_INVALID' });
  });

  it('uses the referrers API where the registry has one, filtering by artifactType itself if needed', async () => {
    const subject = image.manifest.descriptor.digest;
    const referrer = (n: number, artifactType: string) => ({
      mediaType: MediaType.ociManifest,
      digest: `sha256:${String(n).repeat(64)}`,
      size: 100 + n,
      artifactType,
    });
    const index = {
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [referrer(1, 'application/vnd.example.sig'), referrer(2, 'application/vnd.example.sbom')],
    };
    proxy.inject({
      kind: 'status',
      status: 200,
      times: 2,
      headers: { 'content-type': MediaType.ociIndex },
      body: JSON.stringify(index),
      match: { method: 'GET', path: new RegExp(`/v2/faulty/referrers/${subject}`) },
    });
    expect(await client.listReferrers('faulty', subject)).toEqual(index.manifests);
    expect(
      await client.listReferrers('faulty', subject, { artifactType: 'application/vnd.example.sbom' }),
    ).toEqual([index.manifests[1]]);
    expect(proxy.requests.filter((r) => r.url.includes('/referrers/')).at(-1)?.url).toContain(
      'artifactType=application%2Fvnd.example.sbom',
    );
  });

  it('follows Link pagination of tag lists', async () => {
    for (const tag of ['v2', 'v3', 'v4', 'v5']) {
      await client.putManifest('faulty', tag, image.manifest.bytes, MediaType.ociManifest);
    }
    // docker-registry 2.8 ignores `n` for tags; the proxy paginates as newer registries do.
    proxy.inject(tagListPagination(1000));
    const pages: string[][] = [];
    for await (const page of client.tagPages('faulty', { pageSize: 2 })) pages.push(page);
    expect(pages).toEqual([['v1', 'v2'], ['v3', 'v4'], ['v5']]);
    expect(await client.listTags('faulty', { pageSize: 2 })).toEqual(['v1', 'v2', 'v3', 'v4', 'v5']);
  });
});
