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
import type { FetchBlobOptions } from './blobs.js';
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

const blobReference = () => `docker://${proxy.host}/faulty@${blob.descriptor.digest}`;
const manifestReference = () => `docker://${proxy.host}/faulty:v1`;

afterAll(async () => {
  await client?.close();
  await proxy?.stop();
  await registry?.stop();
});

const fetchAll = async (options: FetchBlobOptions = {}) =>
  readAll(await client.fetchBlob('faulty', blob.descriptor, options));
const blobPath = /\/blobs\/sha256:/;
const manifestV1 = { method: 'GET', path: /\/manifests\/v1$/ };

/** The requests that reached the proxy since `start`, for the blob (or whatever `path` matches). */
function requestsSince(start: number, path = blobPath) {
  return proxy.requests.slice(start).filter((r) => path.test(r.url));
}

/** A client of its own, retrying at most `maxRetries` times, quickly. */
async function withRetries<T>(maxRetries: number, use: (c: RegistryClient) => Promise<T>): Promise<T> {
  const impatient = new RegistryClient(proxy.host, {
    credentials: { username: 'tester', password: 'secret' },
    retry: { maxRetries, baseDelayMs: 5 },
  });
  try {
    return await use(impatient);
  } finally {
    await impatient.close();
  }
}

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

  it('resumes from a registry that ignores Range and sends the whole blob again (200)', async () => {
    proxy.inject(
      { kind: 'drop', afterBytes: 150_000 },
      {
        kind: 'rewrite',
        match: { method: 'GET', path: blobPath },
        rewrite: (response) => {
          const headers = { ...response.headers };
          delete headers['content-range'];
          return { ...response, status: 200, headers, body: blob.bytes };
        },
      },
    );
    const start = proxy.requests.length;
    expect((await fetchAll()).equals(blob.bytes)).toBe(true);
    expect(requestsSince(start).map((r) => [r.fault, r.range])).toEqual([
      ['drop', undefined],
      ['rewrite', 'bytes=150000-'],
    ]);
  });

  it('refuses a resumed download answered with another range than asked (PROTOCOL)', async () => {
    proxy.inject(
      { kind: 'drop', afterBytes: 150_000 },
      {
        kind: 'rewrite',
        match: { method: 'GET', path: blobPath },
        rewrite: (response) => ({
          ...response,
          headers: { ...response.headers, 'content-range': `bytes 0-249999/${blob.bytes.length}` },
          body: blob.bytes.subarray(0, 250_000),
        }),
      },
    );
    const error = await fetchAll().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PROTOCOL', status: 206, reference: blobReference() });
    expect((error as Error).message).toBe(
      `${blobReference()}: the registry answered a resumed download with the wrong range (asked for the bytes from 150000, got HTTP 206 with Content-Range "bytes 0-249999/400000")`,
    );
  });

  it('gives up when the connection keeps breaking, and says how often it resumed (NETWORK)', async () => {
    proxy.inject({ kind: 'drop', afterBytes: 50_000, times: 3 });
    const start = proxy.requests.length;
    const error = await fetchAll({ maxResumes: 2 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NETWORK', reference: blobReference() });
    expect((error as Error).message).toBe(
      `${blobReference()}: the download broke 3 times (at byte 150000 of 400000 the last time) and was resumed 2 times, the most allowed; check the network and try again`,
    );
    expect(requestsSince(start).map((r) => r.range)).toEqual([undefined, 'bytes=50000-', 'bytes=100000-']);
    expect(proxy.pending()).toBe(0);
  });

  it('retries 500 twice and then succeeds', async () => {
    proxy.inject({ kind: 'status', status: 500, times: 2 });
    const fetched = await client.getManifest('faulty', 'v1');
    expect(fetched.descriptor).toEqual(image.manifest.descriptor);
    expect(proxy.pending()).toBe(0);
  });

  it('gives up after the bounded number of retries, and says so (SERVER_ERROR)', async () => {
    proxy.inject({ kind: 'status', status: 503, times: 3, match: manifestV1 });
    const start = proxy.requests.length;
    const error = await withRetries(2, (c) => c.getManifest('faulty', 'v1')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SERVER_ERROR', status: 503 });
    expect((error as Error).message).toBe(
      `${proxy.host} failed with HTTP 503 for ${manifestReference()}; the registry has a problem, try again later; ${proxy.host} still answered HTTP 503 after 2 retries`,
    );
    expect(requestsSince(start, /\/manifests\//).map((r) => r.status)).toEqual([503, 503, 503]);
  });

  it('gives up on 429 after the bounded number of retries, and says so (TOOMANYREQUESTS)', async () => {
    proxy.inject({
      kind: 'status',
      status: 429,
      times: 3,
      headers: { 'retry-after': '0' },
      match: manifestV1,
    });
    const start = proxy.requests.length;
    const error = await withRetries(2, (c) => c.getManifest('faulty', 'v1')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TOOMANYREQUESTS', status: 429 });
    expect((error as Error).message).toBe(
      `${proxy.host} is rate limiting requests (TOOMANYREQUESTS); wait and try again, or log in for a higher limit; ${proxy.host} still answered HTTP 429 after 2 retries`,
    );
    expect(requestsSince(start, /\/manifests\//).map((r) => r.status)).toEqual([429, 429, 429]);
  });

  it('waits for Retry-After (seconds) on 429 with a body that is not JSON, then succeeds', async () => {
    proxy.inject({
      kind: 'status',
      status: 429,
      headers: { 'retry-after': '1' },
      body: 'slow down!',
      match: manifestV1,
    });
    const start = proxy.requests.length;
    const fetched = await client.getManifest('faulty', 'v1');
    expect(fetched.descriptor.digest).toBe(image.manifest.descriptor.digest);
    const [limited, retried] = requestsSince(start, /\/manifests\//);
    expect([limited?.status, retried?.status]).toEqual([429, undefined]);
    // The backoff of this client is 20 ms: only Retry-After makes it wait a second.
    expect(retried!.receivedAt - limited!.receivedAt).toBeGreaterThanOrEqual(1000);
  });

  it('waits for Retry-After given as an HTTP date', async () => {
    // At least two seconds ahead, in whole seconds as HTTP dates are.
    const retryAt = Math.ceil((Date.now() + 2000) / 1000) * 1000;
    proxy.inject({
      kind: 'status',
      status: 429,
      headers: { 'retry-after': new Date(retryAt).toUTCString() },
      match: manifestV1,
    });
    const start = proxy.requests.length;
    await client.getManifest('faulty', 'v1');
    const [limited, retried] = requestsSince(start, /\/manifests\//);
    expect([limited?.status, retried?.status]).toEqual([429, undefined]);
    expect(retried!.receivedAt - limited!.receivedAt).toBeGreaterThanOrEqual(1000);
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

  it('refuses a redirect loop after five redirects (PROTOCOL), naming only the host', async () => {
    const path = `/v2/faulty/blobs/${blob.descriptor.digest}`;
    proxy.inject({
      kind: 'status',
      status: 307,
      times: 10,
      headers: { location: `${path}?signature=s3cr3t` },
      match: { method: 'GET', path: blobPath },
    });
    const start = proxy.requests.length;
    const error = await fetchAll().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PROTOCOL', status: 307, reference: blobReference() });
    expect((error as Error).message).toBe(
      `${blobReference()}: more than 5 redirects, the last to ${proxy.host}: the redirects go round in a loop`,
    );
    expect(requestsSince(start)).toHaveLength(6);
  });

  it('refuses a manifest whose Docker-Content-Digest names other bytes (DIGEST_INVALID)', async () => {
    const other = blob.descriptor.digest;
    proxy.inject({
      kind: 'rewrite',
      match: manifestV1,
      rewrite: (response) => ({
        ...response,
        headers: { ...response.headers, 'docker-content-digest': other },
      }),
    });
    const error = await client.getManifest('faulty', 'v1').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DIGEST_INVALID', status: 200, reference: manifestReference() });
    expect((error as Error).message).toBe(
      `${manifestReference()}: the manifest served hashes to ${image.manifest.descriptor.digest}, not ${other}; the registry or something between served different bytes`,
    );
  });

  it('refuses a push the registry says it stored under another digest (DIGEST_INVALID)', async () => {
    const other = blob.descriptor.digest;
    proxy.inject({
      kind: 'rewrite',
      match: { method: 'PUT', path: /\/manifests\/sha256:/ },
      rewrite: (response) => ({
        ...response,
        headers: { ...response.headers, 'docker-content-digest': other },
      }),
    });
    const error = await client
      .putManifest('faulty', image.manifest.descriptor.digest, image.manifest.bytes, MediaType.ociManifest)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DIGEST_INVALID', status: 201 });
    expect((error as Error).message).toBe(
      `docker://${proxy.host}/faulty@${image.manifest.descriptor.digest}: the registry stored the manifest as ${other}, not ${image.manifest.descriptor.digest}`,
    );
  });

  it('refuses a manifest announced larger than 4 MiB before reading a byte of it (SIZE_INVALID)', async () => {
    // The bytes announced never come: only a client that believes the header can finish.
    proxy.inject({
      kind: 'respond',
      match: manifestV1,
      respond: (_request, response) => {
        response.writeHead(200, { 'content-type': MediaType.ociManifest, 'content-length': String(5 << 20) });
        response.flushHeaders();
      },
    });
    const error = await client.getManifest('faulty', 'v1').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SIZE_INVALID', reference: manifestReference() });
    expect((error as Error).message).toBe(
      `${manifestReference()}: the manifest is 5242880 bytes, more than the 4194304 bytes this client reads; refusing it, as no registry serves one so large`,
    );
  });

  it('stops reading a manifest that never ends once it passes 4 MiB (SIZE_INVALID)', async () => {
    let sent = 0;
    let closed: Promise<unknown> | undefined;
    proxy.inject({
      kind: 'respond',
      match: manifestV1,
      respond: (_request, response) => {
        closed = new Promise((resolve) => response.on('close', resolve));
        response.writeHead(200, { 'content-type': MediaType.ociManifest });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const more = (): void => {
          while (!response.destroyed) {
            sent += chunk.length;
            if (!response.write(chunk)) return;
          }
        };
        response.on('drain', more);
        more();
      },
    });
    const error = await client.getManifest('faulty', 'v1').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SIZE_INVALID', reference: manifestReference() });
    expect((error as Error).message).toBe(
      `${manifestReference()}: the manifest is larger than the 4194304 bytes this client reads; refusing it, as no registry serves one so large`,
    );
    expect(sent).toBeGreaterThan(4 << 20);
    await closed; // the client closed the connection: nothing goes on streaming
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
