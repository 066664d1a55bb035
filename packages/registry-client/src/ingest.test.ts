import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { computeDigest, digestHex, encodeManifest, MediaType } from '@concil/oci-spec';
import {
  ensureTools,
  type FaultProxy,
  startFaultProxy,
  startRegistry,
  type TestRegistry,
} from '@concil/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RegistryError } from './errors.js';
import { openRegistryTarget } from './registry-target.js';
import { randomBlob, readAll } from './test-helpers/image.js';

const run = promisify(execFile);
let registry: TestRegistry;
let proxy: FaultProxy;
let skopeo: string;
let work: string;
const noCredentials = async () => undefined;

beforeAll(async () => {
  skopeo = (await ensureTools(['skopeo'])).skopeo!;
  work = await mkdtemp(join(tmpdir(), 'concil-ingest-'));
  registry = await startRegistry();
  proxy = await startFaultProxy(registry.url);
});
afterEach(() => proxy.clear());
afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

/** Yields the bytes in pieces, then fails: a transform that breaks half-way. */
function brokenContent(bytes: Buffer): Readable {
  return Readable.from(
    (async function* () {
      yield bytes.subarray(0, 50_000);
      yield bytes.subarray(50_000, 100_000);
      throw new Error('the transform broke');
    })(),
  );
}

describe('RegistryTarget.ingest', () => {
  it('streams content of unknown digest in one PATCH; skopeo reads the image back by digest', async () => {
    const target = openRegistryTarget(`${proxy.host}/ingest/app:1`, { credentials: noCredentials });
    const layer = randomBlob(300_000);
    const start = proxy.requests.length;
    const layerDesc = await target.ingest(MediaType.ociLayerGzip, Readable.from([layer.bytes]));
    expect(layerDesc).toEqual(layer.descriptor);
    expect(proxy.requests.slice(start).map((r) => r.method)).toEqual(['POST', 'PATCH', 'PUT']);
    const stored = await readAll(await target.fetch(layerDesc));
    expect(stored.equals(layer.bytes)).toBe(true);

    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
    );
    const configDesc = await target.ingest(MediaType.ociConfig, Readable.from([config]));
    expect(configDesc.digest).toBe(computeDigest(config));
    const { bytes, descriptor } = encodeManifest(
      { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers: [layerDesc] },
      MediaType.ociManifest,
    );
    expect(await target.ingest(MediaType.ociManifest, Readable.from([Buffer.from(bytes)]))).toEqual(
      descriptor,
    );
    await target.tag(descriptor, '1');

    const dir = join(work, 'by-skopeo');
    const source = `docker://${registry.host}/ingest/app@${descriptor.digest}`;
    await run(skopeo, ['copy', '-q', '--src-tls-verify=false', source, `dir:${dir}`]);
    expect((await readFile(join(dir, digestHex(layerDesc.digest)))).equals(layer.bytes)).toBe(true);
    expect(computeDigest(await readFile(join(dir, 'manifest.json')))).toBe(descriptor.digest);
  });

  it('ingests empty content', async () => {
    const target = openRegistryTarget(`${registry.host}/ingest/empty`, { credentials: noCredentials });
    const desc = await target.ingest(MediaType.ociLayerTar, Readable.from([]));
    expect(desc).toEqual({ mediaType: MediaType.ociLayerTar, digest: computeDigest(''), size: 0 });
    expect(await target.exists(desc)).toBe(true);
  });

  it('cancels the upload when the content fails, and reports the content’s error', async () => {
    const target = openRegistryTarget(`${proxy.host}/ingest/broken`, { credentials: noCredentials });
    const layer = randomBlob(200_000);
    const start = proxy.requests.length;
    const error = await target
      .ingest(MediaType.ociLayerGzip, brokenContent(layer.bytes))
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe('the transform broke');
    const methods = proxy.requests.slice(start).map((r) => r.method);
    expect(methods[0]).toBe('POST');
    expect(methods).not.toContain('PUT');
    expect(methods.at(-1)).toBe('DELETE');
  });

  it('cancels the upload when the content ends early without an error, instead of waiting for ever', {
    timeout: 10_000,
  }, async () => {
    const target = openRegistryTarget(`${proxy.host}/ingest/vanished`, { credentials: noCredentials });
    const content = new Readable({ read() {} });
    content.push(randomBlob(50_000).bytes);
    const start = proxy.requests.length;
    const ingesting = target.ingest(MediaType.ociLayerGzip, content).catch((e: unknown) => e);
    // Gone before its end, as a transform destroyed by its own failure handling.
    content.destroy();
    expect(await ingesting).toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
    const methods = proxy.requests.slice(start).map((r) => r.method);
    expect(methods).not.toContain('PUT');
    expect(methods.at(-1)).toBe('DELETE');
  });

  it('refuses to commit when the registry reports another size than was sent', async () => {
    const target = openRegistryTarget(`${proxy.host}/ingest/short`, { credentials: noCredentials });
    const layer = randomBlob(100_000);
    proxy.inject({
      kind: 'rewrite',
      match: { method: 'PATCH' },
      rewrite: (response) => ({ ...response, headers: { ...response.headers, range: '0-4095' } }),
    });
    const start = proxy.requests.length;
    const error = await target
      .ingest(MediaType.ociLayerGzip, Readable.from([layer.bytes]))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ code: 'SIZE_INVALID' });
    expect((error as Error).message).toContain(
      '100000 bytes were sent, but the registry reports Range 0-4095',
    );
    expect(proxy.requests.slice(start).map((r) => r.method)).toEqual(['POST', 'PATCH', 'DELETE']);
    expect(await target.exists(layer.descriptor)).toBe(false);
  });
});
