import { Readable } from 'node:stream';
import { fetchBytes } from '@concil/oci-spec';
import { startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from './client.js';
import { openRegistryTarget } from './registry-target.js';
import { makeImage } from './test-helpers/image.js';

let prefixed: TestRegistry;
const noCredentials = async () => undefined;

beforeAll(async () => {
  prefixed = await startRegistry({ prefix: '/some/prefix' });
});
afterAll(async () => {
  await prefixed?.stop();
});

describe('a registry reached at another address', () => {
  it('sends every request below the base URL path, monolithic and chunked uploads too', async () => {
    const registryUrl = (host: string) =>
      host === 'registry.example.com' ? `${prefixed.url}/some/prefix` : undefined;
    const target = openRegistryTarget('docker://registry.example.com/team/app:1', {
      credentials: noCredentials,
      registryUrl,
      chunkedThreshold: 1000,
      chunkSize: 600,
    });
    expect(target.name).toBe('docker://registry.example.com/team/app:1');
    const image = makeImage([2500, 300]);
    for (const blob of [image.config, ...image.layers]) {
      await target.push(blob.descriptor, Readable.from([blob.bytes]));
    }
    await target.push(image.manifest.descriptor, Readable.from([Buffer.from(image.manifest.bytes)]));
    await target.tag(image.manifest.descriptor);
    expect(await target.client.listTags('team/app')).toEqual(['1']);

    // A fresh client, with `/v2/` written at the end of the URL, reads it back.
    const reader = new RegistryClient('registry.example.com', {
      credentials: noCredentials,
      baseUrl: `${prefixed.url}/some/prefix/v2/`,
    });
    const fetched = await reader.getManifest('team/app', '1');
    expect(fetched.descriptor).toEqual(image.manifest.descriptor);
    const readTarget = openRegistryTarget('docker://registry.example.com/team/app:1', {
      credentials: noCredentials,
      registryUrl,
    });
    const layer = image.layers[0]!;
    expect(Buffer.from(await fetchBytes(readTarget, layer.descriptor)).equals(layer.bytes)).toBe(true);
    await reader.close();
    await target.client.close();
    await readTarget.client.close();
  });

  it('leaves hosts the mapping does not name at their own address', () => {
    const target = openRegistryTarget('docker://127.0.0.1:1/x', { registryUrl: () => undefined });
    expect(target.name).toBe('docker://127.0.0.1:1/x:latest');
  });

  it('refuses a URL that is no registry base URL, naming the registry and hiding credentials', () => {
    for (const baseUrl of ['ftp://mirror.example', 'not a url', 'https://user:secret@mirror.example/x']) {
      let error: unknown;
      try {
        new RegistryClient('registry.example.com', { baseUrl });
      } catch (caught) {
        error = caught;
      }
      expect(error).toMatchObject({ code: 'CONFIG_INVALID', reference: 'registry.example.com' });
      expect((error as Error).message).toContain('registry.example.com');
      expect((error as Error).message).not.toContain('secret');
    }
  });
});
