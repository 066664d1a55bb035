import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { computeDigest, type Descriptor, encodeManifest, fetchManifest, MediaType } from '@concil/oci-spec';
import { buildFixtureLayout, type FixtureLayout, startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesStream } from './bytes-stream.js';
import { convertLayers } from './convert-layers.js';
import { copy } from './copy.js';
import { OciLayout } from './oci-layout.js';
import { openImage } from './open-image.js';
import { openTarget } from './open-target.js';
import { example } from './readme-image.example.js';
import { blobPath } from './testing/fixture-image.js';
import { tarTree } from './testing/layer-tree.js';

let work: string;
let registry: TestRegistry;
let fixture: FixtureLayout;
/** The fixture image with titles on its layers, tagged `titled` in the fixture's layout. */
let titled: Descriptor;
const TITLES = ['base', 'top'];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-open-image-'));
  registry = await startRegistry();
  fixture = await buildFixtureLayout(join(work, 'fixture'));
  titled = await tagWithTitles(new OciLayout(fixture.dir));
  const source = `oci:${fixture.dir}:titled`;
  for (const spec of Object.values(specs()).filter((spec) => spec !== source)) {
    await copy(openTarget(source), openTarget(spec));
  }
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

/** Each source form, holding the titled fixture image. */
function specs(): Record<string, string> {
  return {
    'oci:': `oci:${fixture.dir}:titled`,
    'dir:': `dir:${join(work, 'dir')}`,
    'oci-archive:': `oci-archive:${join(work, 'image.tar')}:titled`,
    'docker-archive:': `docker-archive:${join(work, 'docker.tar')}:model/app:titled`,
    'docker://': `docker://${registry.host}/model/app:titled`,
  };
}

/** Tags, beside the fixture's image, the same image with a title on each layer. */
async function tagWithTitles(layout: OciLayout): Promise<Descriptor> {
  const parsed = await fetchManifest(layout, fixture.images[0]!.manifest);
  if (parsed.kind !== 'manifest') throw new Error('the fixture is one image');
  const layers = parsed.manifest.layers.map((layer, i) => ({
    ...layer,
    annotations: { 'org.opencontainers.image.title': TITLES[i]! },
  }));
  const { bytes, descriptor } = encodeManifest({ ...parsed.manifest, layers }, MediaType.ociManifest);
  await layout.push(descriptor, bytesStream(bytes));
  await layout.tag(descriptor, 'titled');
  return descriptor;
}

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function digestOf(stream: Readable): Promise<{ digest: string; size: number }> {
  const bytes = await bytesOf(stream);
  return { digest: computeDigest(bytes), size: bytes.length };
}

describe('openImage', () => {
  const forms = ['oci:', 'dir:', 'oci-archive:', 'docker-archive:', 'docker://'] as const;
  for (const form of forms) {
    it(`reads the image of ${form}: its config, its layers, their blobs and their tars`, {
      timeout: 30_000,
    }, async () => {
      const spec = specs()[form]!;
      const image = await openImage(spec);
      const { diffIds } = fixture.images[0]!;
      expect(image.config.rootfs.diff_ids).toEqual(diffIds);
      expect(image.layers.map((layer) => layer.diffId)).toEqual(diffIds);
      // docker save keeps neither annotations nor compression: its layers are the tars themselves.
      const docker = form === 'docker-archive:';
      if (!docker) expect(image.descriptor).toMatchObject(titled);
      expect(image.annotations).toEqual(
        docker ? {} : { 'org.opencontainers.image.created': expect.any(String) },
      );
      expect(image.layers.map((layer) => layer.title)).toEqual(docker ? [undefined, undefined] : TITLES);
      expect(image.layers.map((layer) => layer.mediaType)).toEqual(
        docker
          ? [MediaType.dockerLayerTar, MediaType.dockerLayerTar]
          : [MediaType.ociLayerGzip, MediaType.ociLayerGzip],
      );
      for (const [i, layer] of image.layers.entries()) {
        expect(layer.digest).toBe(docker ? diffIds[i] : fixture.images[0]!.layers[i]!.digest);
        expect(layer.target).toBe(image.target);
        expect(await digestOf(await layer.open())).toEqual({ digest: layer.digest, size: layer.size });
        expect((await digestOf(await layer.tarStream())).digest).toBe(diffIds[i]);
      }
    });
  }

  it('chooses the platform of an index, and says which it could not find', async () => {
    const multi = await buildFixtureLayout(join(work, 'multi'), {
      platforms: ['linux/amd64', 'linux/arm64'],
    });
    const arm = await openImage(`oci:${multi.dir}`, { platform: { os: 'linux', architecture: 'arm64' } });
    expect(arm.descriptor.digest).toBe(multi.images[1]!.manifest.digest);
    expect(arm.index?.descriptor.digest).toBe(multi.root.digest);
    expect(arm.layers.map((layer) => layer.diffId)).toEqual(multi.images[1]!.diffIds);
    await expect(
      openImage(`oci:${multi.dir}`, { platform: { os: 'linux', architecture: 's390x' } }),
    ).rejects.toMatchObject({ code: 'PLATFORM_NOT_FOUND', message: expect.stringMatching(/linux\/s390x/) });
  });

  it('gives the tar of a squashfs layer: the same tree as the tar it was made from', async () => {
    const squashfs = join(work, 'squashfs');
    await copy(openTarget(`oci:${fixture.dir}:titled`), new OciLayout(squashfs, 'v1'), {
      edit: convertLayers('squashfs'),
    });
    const image = await openImage(`oci:${squashfs}:v1`);
    expect(image.layers.map((layer) => [layer.mediaType, layer.title])).toEqual(
      TITLES.map((title) => [MediaType.ociLayerSquashfs, title]),
    );
    for (const [i, layer] of image.layers.entries()) {
      const original = gunzipSync(
        await readFile(blobPath(fixture.dir, fixture.images[0]!.layers[i]!.digest)),
      );
      expect(await tarTree(await bytesOf(await layer.tarStream()))).toEqual(await tarTree(original));
    }
  });

  it('runs the README example', async () => {
    const tars = await Promise.all(
      fixture.images[0]!.layers.map(async (layer) =>
        gunzipSync(await readFile(blobPath(fixture.dir, layer.digest))),
      ),
    );
    expect(await example(`oci:${fixture.dir}:titled`)).toEqual(
      fixture.images[0]!.layers.map((layer, i) => ({
        title: TITLES[i],
        mediaType: MediaType.ociLayerGzip,
        size: layer.size,
        tarBytes: tars[i]!.length,
      })),
    );
  });
});
