import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { computeDigest, type Digest, type ImageIndex, type ImageManifest, MediaType } from '@concil/oci-spec';
import { buildFixtureLayout, buildTar, type FixtureLayout, gzipDeterministic } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copy } from './copy.js';
import type { ImageEditor, ImagePlan } from './copy-plan.js';
import { ImageDirectory } from './image-directory.js';
import type { LayerTransform } from './layer-transform.js';
import { OciLayout } from './oci-layout.js';
import { example } from './readme-transform.example.js';
import {
  blobPath,
  expectedFixtureTree,
  imageIn,
  readAll,
  run,
  streamOf,
  unpackWithUmoci,
} from './testing/fixture-image.js';

let work: string;
let single: FixtureLayout;
let multi: FixtureLayout;
let v2s2: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-transform-'));
  single = await buildFixtureLayout(join(work, 'single'));
  multi = await buildFixtureLayout(join(work, 'multi'), { platforms: ['linux/amd64', 'linux/arm64'] });
  v2s2 = join(work, 'v2s2');
  await run('skopeo', ['copy', '-q', '--format', 'v2s2', `oci:${single.dir}:latest`, `dir:${v2s2}`]);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** One in, one out: the layer's tar gzipped again at level 1; its diff_id stays. */
function regzip(applied: string[] = []): LayerTransform {
  return {
    id: 'test:regzip:1',
    async apply([source], { ingest }) {
      applied.push(source!.descriptor.digest);
      const tar = gunzipSync(await readAll(await source!.open()));
      const descriptor = await ingest(MediaType.ociLayerGzip, streamOf(gzipSync(tar, { level: 1 })));
      return { descriptor, diffId: computeDigest(tar) };
    },
  };
}

/** One in, one out: the layer's tar uncompressed, a kind Docker's v2s2 cannot carry. */
const gunzipLayer: LayerTransform = {
  id: 'test:gunzip',
  async apply([source], { ingest }) {
    const tar = gunzipSync(await readAll(await source!.open()));
    return { descriptor: await ingest(MediaType.ociLayerTar, streamOf(tar)), diffId: computeDigest(tar) };
  },
};

/** Zero in: a new layer holding one file. */
function addFile(name: string, content: string): LayerTransform & { tar: Promise<Buffer> } {
  const tar = buildTar([{ type: 'file', name, content }]);
  return {
    id: `test:add:${name}`,
    tar,
    async apply(_sources, { ingest }) {
      const bytes = await tar;
      const descriptor = await ingest(MediaType.ociLayerGzip, streamOf(gzipDeterministic(bytes)));
      return { descriptor, diffId: computeDigest(bytes) };
    },
  };
}

/** Several in: the tars one after the other in one layer (no whiteout handling: plumbing only). */
const concatenate: LayerTransform = {
  id: 'test:concatenate',
  async apply(sources, { ingest }) {
    const parts: Buffer[] = [];
    for (const source of sources) {
      const tar = gunzipSync(await readAll(await source.open()));
      let end = tar.length;
      while (end >= 512 && tar.subarray(end - 512, end).every((byte) => byte === 0)) end -= 512;
      parts.push(tar.subarray(0, end));
    }
    const tar = Buffer.concat([...parts, Buffer.alloc(1024)]);
    return {
      descriptor: await ingest(MediaType.ociLayerGzip, streamOf(gzipSync(tar))),
      diffId: computeDigest(tar),
    };
  },
};

/** Every layer through `transform`. */
function everyLayer(transform: LayerTransform, format?: ImagePlan['format']): ImageEditor {
  return ({ manifest }) => ({
    layers: manifest.layers.map((_, i) => ({ transform, sources: [i] })),
    ...(format && { format }),
  });
}

async function blob(layout: string, digest: string): Promise<Buffer> {
  return readFile(blobPath(layout, digest));
}

describe('copy with layer transforms', () => {
  it('copies the manifest byte for byte when the plan changes nothing', async () => {
    const keep: ImageEditor = ({ manifest }) => ({
      layers: manifest.layers.map((_, source) => ({ source })),
    });
    for (const edit of [keep, () => undefined]) {
      const result = await copy(
        new OciLayout(single.dir, 'latest'),
        new OciLayout(join(work, 'kept'), 'v1'),
        { edit },
      );
      expect(result).toMatchObject({ descriptor: single.root, layersTransformed: 0 });
    }
  });

  it('copies the manifest byte for byte when every transform gives back its source layer (a search)', async () => {
    const readOnly: LayerTransform = {
      id: 'test:read-only',
      async apply([source], { ingest }) {
        const descriptor = await ingest(source!.descriptor.mediaType, await source!.open());
        return { descriptor, diffId: source!.diffId as Digest };
      },
    };
    // skopeo's v2s2 manifest lists a descriptor's size before its digest: re-encoded, it would change.
    const manifestBytes = await readFile(join(v2s2, 'manifest.json'));
    const dst = join(work, 'read-only');
    const result = await copy(new ImageDirectory(v2s2), new ImageDirectory(dst), {
      edit: everyLayer(readOnly),
    });
    expect(result).toMatchObject({
      descriptor: { digest: computeDigest(manifestBytes) },
      layersTransformed: 2,
    });
    expect(await readFile(join(dst, 'manifest.json'))).toEqual(manifestBytes);
  });

  it('transforms each layer, rewrites config and manifest, and umoci unpacks the same tree', async () => {
    const dst = join(work, 'regzipped');
    const result = await copy(new OciLayout(single.dir, 'latest'), new OciLayout(dst, 'v1'), {
      edit: everyLayer(regzip()),
    });
    expect(result.layersTransformed).toBe(2);
    expect(result.descriptor.digest).not.toBe(single.root.digest);
    const { manifest, config } = await imageIn(dst, result.descriptor.digest);
    const source = await imageIn(single.dir, single.root.digest);
    expect(manifest.layers.map((l) => l.digest)).not.toEqual(source.manifest.layers.map((l) => l.digest));
    expect(manifest.layers.every((l) => l.mediaType === MediaType.ociLayerGzip)).toBe(true);
    // The same tars: the same diff_ids and history; everything else in the config as it was.
    expect(config).toEqual(source.config);
    expect(manifest.annotations).toEqual(source.manifest.annotations);
    for (const layer of manifest.layers)
      expect(computeDigest(await blob(dst, layer.digest))).toBe(layer.digest);

    expect(await unpackWithUmoci(dst, 'v1', join(work, 'bundle'))).toEqual(expectedFixtureTree());
    const { stdout } = await run('skopeo', ['inspect', `oci:${dst}:v1`]);
    expect(JSON.parse(stdout).Layers).toEqual(manifest.layers.map((l) => l.digest));
  });

  it('adds a layer (zero sources) and merges two (several): diff_ids and history follow', async () => {
    const dst = join(work, 'merged');
    const added = addFile('etc/motd', 'hello\n');
    const result = await copy(new OciLayout(single.dir, 'latest'), new OciLayout(dst, 'v1'), {
      edit: () => ({
        layers: [
          { transform: concatenate, sources: [0, 1] },
          { transform: added, sources: [], history: { created_by: 'test: add /etc/motd' } },
        ],
      }),
    });
    const { manifest, config } = await imageIn(dst, result.descriptor.digest);
    const [merged, motd] = manifest.layers;
    expect(config.rootfs.diff_ids).toEqual([
      computeDigest(gunzipSync(await blob(dst, merged!.digest))),
      computeDigest(await added.tar),
    ]);
    const source = await imageIn(single.dir, single.root.digest);
    expect(config.history).toEqual([
      source.config.history![1], // ENV, an entry without a layer, stays where it was
      { created_by: 'concil: test:concatenate', comment: 'layers 1, 2 merged' },
      { created_by: 'test: add /etc/motd' },
    ]);
    expect(gunzipSync(await blob(dst, motd!.digest)).equals(await added.tar)).toBe(true);
    expect(result.layersTransformed).toBe(2);
  });

  it('removes a layer: its diff_id and history entry go, the others stay untouched', async () => {
    const dst = join(work, 'removed');
    const result = await copy(new OciLayout(single.dir, 'latest'), new OciLayout(dst, 'v1'), {
      edit: () => ({ layers: [{ source: 1 }] }),
    });
    const { manifest, config } = await imageIn(dst, result.descriptor.digest);
    const source = await imageIn(single.dir, single.root.digest);
    expect(manifest.layers).toEqual([source.manifest.layers[1]]);
    expect(config.rootfs.diff_ids).toEqual([source.config.rootfs.diff_ids[1]]);
    expect(config.history).toEqual(source.config.history!.slice(1));
    expect(result).toMatchObject({ layersTransformed: 0, blobsCopied: 1 });
  });

  it('with all: a layer shared by two platforms is transformed once, the index rebuilt around both', async () => {
    const applied: string[] = [];
    const dst = join(work, 'all');
    const result = await copy(new OciLayout(multi.dir, 'latest'), new OciLayout(dst, 'v1'), {
      all: true,
      edit: everyLayer(regzip(applied)),
    });
    expect(applied.sort()).toEqual(
      [...new Set(multi.images.flatMap((i) => i.layers.map((l) => l.digest)))].sort(),
    );
    expect(result.layersTransformed).toBe(3);
    const index = JSON.parse((await blob(dst, result.descriptor.digest)).toString()) as ImageIndex;
    expect(result.descriptor.mediaType).toBe(MediaType.ociIndex);
    expect(index.manifests.map((m) => m.platform)).toEqual(multi.images.map((i) => i.manifest.platform));
    const images = await Promise.all(index.manifests.map((m) => imageIn(dst, m.digest)));
    expect(images[0]!.manifest.layers[0]).toEqual(images[1]!.manifest.layers[0]);
    expect(images[0]!.manifest.layers[0]!.digest).not.toBe(multi.images[0]!.layers[0]!.digest);
    const { stdout } = await run('skopeo', ['inspect', '--raw', `oci:${dst}:v1`]);
    expect(computeDigest(stdout)).toBe(result.descriptor.digest);
  });

  it('with keepSources: the source copied untouched, each transform run once from the copy, its output beside it', async () => {
    const dst = join(work, 'keep-sources');
    const layers = [...new Set(multi.images.flatMap((i) => i.layers.map((l) => l.digest)))].sort();
    const read: string[] = [];
    const result = await copy(new OciLayout(multi.dir, 'latest'), new OciLayout(dst, 'v1'), {
      all: true,
      keepSources: true,
      edit: everyLayer(regzip(read)),
    });
    expect(result.descriptor.digest).toBe(multi.root.digest);
    expect(result.blobsCopied).toBe(multi.blobs.length - 3); // manifests and the index are pushed, not copied
    expect(read.sort()).toEqual(layers);
    const derived = result.derivedLayers!;
    expect(derived.map((d) => d.sources.map((s) => s.descriptor.digest)[0]).sort()).toEqual(layers);
    for (const { transform, sources, descriptor, diffId } of derived) {
      expect(transform).toBe('test:regzip:1');
      expect(diffId).toBe(sources[0]!.diffId);
      const bytes = await blob(dst, descriptor.digest);
      expect(computeDigest(gunzipSync(bytes))).toBe(diffId);
      expect(descriptor).toEqual({
        mediaType: MediaType.ociLayerGzip,
        digest: computeDigest(bytes),
        size: bytes.length,
      });
    }
    const { stdout } = await run('skopeo', ['inspect', '--raw', `oci:${dst}:v1`]);
    expect(computeDigest(stdout)).toBe(multi.root.digest);
  });

  it('switches a Docker v2s2 image to OCI when a layer needs it, and says so when asked to stay v2s2', async () => {
    const dst = join(work, 'from-v2s2');
    const result = await copy(new ImageDirectory(v2s2), new OciLayout(dst, 'v1'), {
      edit: ({ manifest }) => ({
        layers: [{ transform: gunzipLayer, sources: [0] }, { source: manifest.layers.length - 1 }],
      }),
    });
    const source = JSON.parse(await readFile(join(v2s2, 'manifest.json'), 'utf8')) as ImageManifest;
    expect(source.mediaType).toBe(MediaType.dockerManifest);
    const { manifest } = await imageIn(dst, result.descriptor.digest);
    expect(manifest.mediaType).toBe(MediaType.ociManifest);
    expect(manifest.config.mediaType).toBe(MediaType.ociConfig);
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([MediaType.ociLayerTar, MediaType.ociLayerGzip]);
    // The untouched layer keeps its bytes: only its media type is the OCI one now.
    expect(manifest.layers[1]!.digest).toBe(source.layers[1]!.digest);
    expect(await unpackWithUmoci(dst, 'v1', join(work, 'bundle'))).toEqual(expectedFixtureTree());

    const untouched = join(work, 'stays-v2s2');
    const error = await copy(new ImageDirectory(v2s2), new ImageDirectory(untouched), {
      edit: everyLayer(gunzipLayer, 'docker'),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNSUPPORTED' });
    expect((error as Error).message).toContain(
      'a Docker v2s2 manifest cannot carry uncompressed tar layers (layer 1',
    );
    expect(await readdir(work)).not.toContain('stays-v2s2');
  });

  it('keeps a Docker v2s2 image Docker when its layers stay gzip', async () => {
    const dst = join(work, 'v2s2-regzipped');
    const result = await copy(new ImageDirectory(v2s2), new ImageDirectory(dst), {
      edit: everyLayer(regzip()),
    });
    expect(result.descriptor.mediaType).toBe(MediaType.dockerManifest);
    const manifest = JSON.parse(await readFile(join(dst, 'manifest.json'), 'utf8')) as ImageManifest;
    expect(manifest.config.mediaType).toBe(MediaType.dockerConfig);
    expect(manifest.layers.every((l) => l.mediaType === MediaType.dockerLayerGzip)).toBe(true);
    await run('skopeo', ['inspect', `dir:${dst}`]);
  });

  it('leaves the destination as it was when a transform fails', async () => {
    const dst = join(work, 'failing');
    await copy(new OciLayout(single.dir, 'latest'), new ImageDirectory(dst));
    const before = (await readdir(dst)).sort();
    const failing: LayerTransform = {
      id: 'test:fail',
      async apply([source]) {
        await readAll(await source!.open());
        throw new Error('the transform broke');
      },
    };
    await expect(
      copy(new OciLayout(single.dir, 'latest'), new ImageDirectory(dst), { edit: everyLayer(failing) }),
    ).rejects.toThrow('the transform broke');
    expect((await readdir(dst)).sort()).toEqual(before);
    expect((await readdir(work)).filter((name) => name.includes('.concil-'))).toEqual([]);
  });

  it('refuses a plan that names a layer the image does not have', async () => {
    const error = await copy(new OciLayout(single.dir, 'latest'), new OciLayout(join(work, 'bad-plan')), {
      edit: () => ({ layers: [{ source: 0 }, { source: 2 }] }),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PLAN_INVALID' });
    expect((error as Error).message).toContain(
      'output layer 2 names source layer 2, but the image has 2 layers',
    );
    expect(await readdir(work)).not.toContain('bad-plan');
  });
});

describe('the README example of a layer transform', () => {
  it('adds a tar as a new top layer that umoci unpacks', async () => {
    const tar = join(work, 'motd.tar');
    await writeFile(tar, await buildTar([{ type: 'file', name: 'etc/motd', content: 'from the README\n' }]));
    await run('skopeo', ['copy', '-q', `oci:${single.dir}:latest`, `oci:${join(work, 'readme-src')}:v1`]);
    const result = await example(join(work, 'readme-src'), join(work, 'readme-dst'), tar);
    expect(result.layersTransformed).toBe(1);
    const tree = await unpackWithUmoci(join(work, 'readme-dst'), 'v1', join(work, 'bundle'));
    expect(tree.get('etc/motd')).toBe(`file ${Buffer.from('from the README\n').toString('base64')}`);
    expect(tree.size).toBe(expectedFixtureTree().size + 1);
  });
});
