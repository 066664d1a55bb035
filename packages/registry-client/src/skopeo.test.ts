import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ensureTools, startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from './client.js';
import { makeImage, pushImage, readAll } from './test-helpers/image.js';

const run = promisify(execFile);
let registry: TestRegistry;
let client: RegistryClient;
let skopeo: string;

beforeAll(async () => {
  skopeo = (await ensureTools(['skopeo'])).skopeo!;
  registry = await startRegistry({ auth: 'basic', users: { sko: 'peo' } });
  client = new RegistryClient(registry.host, { credentials: { username: 'sko', password: 'peo' } });
});
afterAll(async () => {
  await client?.close();
  await registry?.stop();
});

const skopeoArgs = ['--tls-verify=false', '--creds', 'sko:peo'];

describe('interoperability with skopeo', () => {
  it('skopeo reads what the client pushed, byte for byte', async () => {
    const image = makeImage([3000, 40_000]);
    await pushImage(client, 'interop/pushed', image, 'v1');
    const { stdout } = await run(skopeo, [
      'inspect',
      '--raw',
      ...skopeoArgs,
      `docker://${registry.host}/interop/pushed:v1`,
    ]);
    expect(stdout).toBe(Buffer.from(image.manifest.bytes).toString('utf8'));
  });

  it('the client reads what skopeo copied', async () => {
    const image = makeImage([5000]);
    await pushImage(client, 'interop/source', image, 'v1');
    await run(skopeo, [
      'copy',
      '--preserve-digests',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--src-creds',
      'sko:peo',
      '--dest-creds',
      'sko:peo',
      `docker://${registry.host}/interop/source:v1`,
      `docker://${registry.host}/interop/copied:v2`,
    ]);
    const fetched = await client.getManifest('interop/copied', 'v2');
    expect(fetched.descriptor).toEqual(image.manifest.descriptor);
    expect(fetched.manifest.kind).toBe('manifest');
    if (fetched.manifest.kind !== 'manifest') return;
    const layer = fetched.manifest.manifest.layers[0]!;
    const bytes = await readAll(await client.fetchBlob('interop/copied', layer));
    expect(bytes.equals(image.layers[0]!.bytes)).toBe(true);
  });
});
