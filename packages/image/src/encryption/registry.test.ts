import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaType } from '@concil/oci-spec';
import { openRegistryTarget } from '@concil/registry-client';
import {
  buildFixtureLayout,
  type FixtureLayout,
  pushFixture,
  startRegistry,
  type TestRegistry,
} from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copy } from '../copy.js';
import { OciLayout } from '../oci-layout.js';
import { type KeyFiles, writeKeyPair } from '../testing/encryption-keys.js';
import { imageIn, run } from '../testing/fixture-image.js';
import { decryptLayers, encryptLayers } from './encrypt-layers.js';
import { readDecryptionKey, readEncryptionKey } from './encryption-keys.js';

let work: string;
let registry: TestRegistry;
let fixture: FixtureLayout;
let ec: KeyFiles;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-encrypt-registry-'));
  registry = await startRegistry();
  fixture = await buildFixtureLayout(join(work, 'fixture'));
  ec = await writeKeyPair(work, 'ec', { curve: 'P-256' });
  await pushFixture(fixture.dir, `${registry.host}/app:v2s2`, { format: 'v2s2' });
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

async function layerDigests(layout: string) {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
  return (await imageIn(layout, index.manifests[0].digest)).manifest.layers.map((l) => [
    l.mediaType,
    l.digest,
  ]);
}

describe('a registry round trip', () => {
  it('a Docker image encrypted into the registry (as OCI), decrypted from it by skopeo and by concil', async () => {
    const encrypted = `docker://${registry.host}/app:encrypted`;
    const result = await copy(
      openRegistryTarget(`docker://${registry.host}/app:v2s2`),
      openRegistryTarget(encrypted),
      {
        edit: encryptLayers([await readEncryptionKey(ec.pub)]),
      },
    );
    // Docker's v2s2 has no encrypted layers: the manifest is written as OCI.
    expect(result.descriptor.mediaType).toBe(MediaType.ociManifest);
    const original = fixture.images[0]!.layers.map((l) => [MediaType.ociLayerGzip, l.digest]);

    const bySkopeo = join(work, 'by-skopeo');
    await run('skopeo', [
      'copy',
      '--src-tls-verify=false',
      '--decryption-key',
      ec.priv,
      encrypted,
      `oci:${bySkopeo}:v1`,
    ]);
    expect(await layerDigests(bySkopeo)).toEqual(original);

    const byConcil = join(work, 'by-concil');
    await copy(openRegistryTarget(encrypted), new OciLayout(byConcil, 'v1'), {
      edit: decryptLayers([await readDecryptionKey(ec.priv)]),
    });
    expect(await layerDigests(byConcil)).toEqual(original);
  });
});
