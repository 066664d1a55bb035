import { Readable } from 'node:stream';
import { fetchBytes, fetchManifest, MediaType } from '@concil/oci-spec';
import { type FaultProxy, startFaultProxy, startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import { openRegistryTarget, RegistryTarget } from './registry-target.js';
import { makeImage, pushImage, readAll } from './test-helpers/image.js';

let registry: TestRegistry;
let proxy: FaultProxy;
const noCredentials = async () => undefined;

beforeAll(async () => {
  registry = await startRegistry();
  proxy = await startFaultProxy(registry.url);
});
afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
});

describe('RegistryTarget', () => {
  it('pushes an image through the Target interface, tags it, resolves and fetches it', async () => {
    const target = openRegistryTarget(`${registry.host}/target/app:1.0`, { credentials: noCredentials });
    expect(target.name).toBe(`docker://${registry.host}/target/app:1.0`);
    const image = makeImage([1234, 99]);
    for (const blob of [image.config, ...image.layers]) {
      expect(await target.exists(blob.descriptor)).toBe(false);
      await target.push(blob.descriptor, Readable.from([blob.bytes]));
      expect(await target.exists(blob.descriptor)).toBe(true);
    }
    await target.push(image.manifest.descriptor, Readable.from([Buffer.from(image.manifest.bytes)]));
    expect(await target.exists(image.manifest.descriptor)).toBe(true);
    await target.tag(image.manifest.descriptor);

    const resolved = await target.resolve();
    expect(resolved).toEqual(image.manifest.descriptor);
    expect(await target.resolve('1.0')).toEqual(image.manifest.descriptor);

    // a fresh target (no memory of the push) reads it all back, verified
    const reader = openRegistryTarget(`docker://${registry.host}/target/app@${resolved.digest}`, {
      credentials: noCredentials,
    });
    expect(await reader.resolve()).toEqual(image.manifest.descriptor);
    const parsed = await fetchManifest(reader, resolved);
    expect(parsed.kind).toBe('manifest');
    const layer = image.layers[0]!;
    expect(Buffer.from(await fetchBytes(reader, layer.descriptor)).equals(layer.bytes)).toBe(true);
    expect((await readAll(await reader.fetch(image.config.descriptor))).equals(image.config.bytes)).toBe(
      true,
    );

    // tagging again in the reader fetches the manifest by digest
    await reader.tag(resolved, 'copy');
    expect(await target.resolve('copy')).toEqual(image.manifest.descriptor);
  });

  it('tags what it pushed without fetching the manifest again', async () => {
    const target = openRegistryTarget(`${proxy.host}/target/notag`, { credentials: noCredentials });
    const image = makeImage([10]);
    for (const blob of [image.config, ...image.layers])
      await target.push(blob.descriptor, Readable.from([blob.bytes]));
    await target.push(image.manifest.descriptor, Readable.from([Buffer.from(image.manifest.bytes)]));
    const before = proxy.requests.length;
    await target.tag(image.manifest.descriptor, 'v1');
    await target.tag(image.manifest.descriptor, 'v2');
    expect(proxy.requests.slice(before).map((r) => `${r.method} ${r.url.split('/').pop()}`)).toEqual([
      'PUT v1',
      'PUT v2',
    ]);
  });

  it('mounts blobs from another repository of the same registry only', async () => {
    const client = new RegistryClient(registry.host, { credentials: noCredentials });
    const source = new RegistryTarget(client, 'mounts/source');
    const destination = new RegistryTarget(client, 'mounts/destination');
    const image = makeImage([500]);
    const layer = image.layers[0]!;
    await source.push(layer.descriptor, Readable.from([layer.bytes]));
    expect(await destination.mount(layer.descriptor, source)).toBe(true);
    expect(await destination.exists(layer.descriptor)).toBe(true);

    const elsewhere = openRegistryTarget(`${proxy.host}/mounts/source`, { credentials: noCredentials });
    expect(await destination.mount(layer.descriptor, elsewhere)).toBe(false);
    await client.close();
  });

  it('refuses to push a manifest whose bytes do not match the descriptor, sending nothing', async () => {
    const target = openRegistryTarget(`${proxy.host}/target/bad`, { credentials: noCredentials });
    const image = makeImage([10]);
    const reference = `docker://${proxy.host}/target/bad@${image.manifest.descriptor.digest}`;
    const before = proxy.requests.length;
    const error = await target
      .push(image.manifest.descriptor, Readable.from([Buffer.from('{"schemaVersion":2}')]))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ code: 'DIGEST_INVALID', reference });
    expect((error as Error).message).toBe(`${reference}: the manifest bytes do not match their descriptor`);
    expect(proxy.requests.slice(before)).toEqual([]);
    expect(await target.exists(image.manifest.descriptor)).toBe(false);
    await expect(target.resolve('latest')).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
  });

  it('refuses a manifest larger than its descriptor says, and one over 4 MiB unread, sending nothing', async () => {
    const target = openRegistryTarget(`${proxy.host}/target/big`, { credentials: noCredentials });
    const image = makeImage([10]);
    const before = proxy.requests.length;
    const longer = Buffer.concat([Buffer.from(image.manifest.bytes), Buffer.from(' ')]);
    await expect(target.push(image.manifest.descriptor, Readable.from([longer]))).rejects.toMatchObject({
      code: 'SIZE_INVALID',
      message: `docker://${proxy.host}/target/big@${image.manifest.descriptor.digest}: the manifest is larger than its descriptor says`,
    });
    const huge = { ...image.manifest.descriptor, size: (4 << 20) + 1 };
    const unread = Readable.from(['never read']);
    await expect(target.push(huge, unread)).rejects.toMatchObject({ code: 'MANIFEST_INVALID' });
    expect(unread.destroyed).toBe(true);
    expect(proxy.requests.slice(before)).toEqual([]);
  });

  it('resolves with a GET when HEAD lacks Docker-Content-Digest', async () => {
    const direct = openRegistryTarget(`${registry.host}/target/head`, { credentials: noCredentials });
    const image = makeImage([10]);
    for (const blob of [image.config, ...image.layers])
      await direct.push(blob.descriptor, Readable.from([blob.bytes]));
    await direct.push(image.manifest.descriptor, Readable.from([Buffer.from(image.manifest.bytes)]));
    await direct.tag(image.manifest.descriptor, 'latest');

    proxy.inject({
      kind: 'rewrite',
      match: { method: 'HEAD', path: /\/manifests\/latest$/ },
      rewrite: (response) => {
        const headers = { ...response.headers };
        delete headers['docker-content-digest'];
        return { ...response, headers };
      },
    });
    const viaProxy = openRegistryTarget(`${proxy.host}/target/head`, { credentials: noCredentials });
    const before = proxy.requests.length;
    expect(await viaProxy.resolve()).toEqual(image.manifest.descriptor);
    expect(proxy.requests.slice(before).map((r) => r.method)).toEqual(['HEAD', 'GET']);
  });

  it('fetches its own reference by tag in one GET, and then the manifest by digest from memory', async () => {
    const image = makeImage([10]);
    const client = new RegistryClient(registry.host, { credentials: noCredentials });
    await pushImage(client, 'target/once', image, 'v1');
    await client.close();

    const viaProxy = openRegistryTarget(`${proxy.host}/target/once:v1`, { credentials: noCredentials });
    const before = proxy.requests.length;
    const fetched = await viaProxy.fetchReference();
    expect(fetched.descriptor).toEqual(image.manifest.descriptor);
    expect(Buffer.from(fetched.bytes).equals(Buffer.from(image.manifest.bytes))).toBe(true);
    const again = await fetchBytes(viaProxy, image.manifest.descriptor);
    expect(Buffer.from(again).equals(Buffer.from(image.manifest.bytes))).toBe(true);
    expect(proxy.requests.slice(before).map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /v2/target/once/manifests/v1',
    ]);
    await expect(viaProxy.fetchReference('missing')).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
  });

  it('raises MANIFEST_UNKNOWN when resolving a missing tag', async () => {
    const target = openRegistryTarget(`${registry.host}/target/app:missing`, { credentials: noCredentials });
    await expect(target.resolve()).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
  });

  it('pushes an index under its digest', async () => {
    const target = openRegistryTarget(`${registry.host}/target/multi:all`, { credentials: noCredentials });
    const image = makeImage([10]);
    for (const blob of [image.config, ...image.layers])
      await target.push(blob.descriptor, Readable.from([blob.bytes]));
    await target.push(image.manifest.descriptor, Readable.from([Buffer.from(image.manifest.bytes)]));
    const { encodeManifest } = await import('@concil/oci-spec');
    const index = encodeManifest(
      {
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [{ ...image.manifest.descriptor, platform: { os: 'linux', architecture: 'amd64' } }],
      },
      MediaType.ociIndex,
    );
    await target.push(index.descriptor, Readable.from([Buffer.from(index.bytes)]));
    await target.tag(index.descriptor);
    expect(await target.resolve()).toEqual(index.descriptor);
  });
});
