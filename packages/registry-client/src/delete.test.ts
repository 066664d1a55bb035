import { startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import { RegistryTarget } from './registry-target.js';
import { makeImage, pushImage } from './test-helpers/image.js';

describe('RegistryTarget.delete', () => {
  let open: TestRegistry;
  let closed: TestRegistry;
  beforeAll(async () => {
    [open, closed] = await Promise.all([startRegistry(), startRegistry({ deleteEnabled: false })]);
  });
  afterAll(async () => {
    await Promise.all([open?.stop(), closed?.stop()]);
  });

  it('deletes a manifest with its tags, and a blob', async () => {
    const client = new RegistryClient(open.host, { credentials: async () => undefined });
    const image = makeImage([100]);
    await pushImage(client, 'trash/app', image, 'v1');
    await client.putManifest('trash/app', 'v2', image.manifest.bytes, image.manifest.descriptor.mediaType);
    const target = new RegistryTarget(client, 'trash/app', 'v1');
    await target.delete(await target.resolve());
    expect(await client.headManifest('trash/app', image.manifest.descriptor.digest)).toBeUndefined();
    expect(await client.headManifest('trash/app', 'v1')).toBeUndefined();
    expect(await client.headManifest('trash/app', 'v2')).toBeUndefined();
    expect(await client.listTags('trash/app')).toEqual([]);

    const layer = image.layers[0]!;
    await target.delete(layer.descriptor);
    expect(await client.headBlob('trash/app', layer.descriptor.digest)).toBeUndefined();
    await client.close();
  });

  it('says so when the registry does not allow deleting (UNSUPPORTED), and keeps the manifest', async () => {
    const client = new RegistryClient(closed.host, { credentials: async () => undefined });
    const image = makeImage([100]);
    await pushImage(client, 'kept/app', image, 'v1');
    const target = new RegistryTarget(client, 'kept/app', 'v1');
    const error = await target.delete(image.manifest.descriptor).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ code: 'UNSUPPORTED', status: 405 });
    expect((error as Error).message).toBe(
      `docker://${closed.host}/kept/app@${image.manifest.descriptor.digest}: ${closed.host} does not allow deleting manifests (UNSUPPORTED); its operator must enable deletion (docker-registry: storage.delete.enabled)`,
    );
    expect(await client.headManifest('kept/app', 'v1')).toEqual(image.manifest.descriptor);
    await client.close();
  });
});
