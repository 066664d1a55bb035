import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { computeDigest, encodeManifest, type ImageIndex, MediaType } from '@concil/oci-spec';
import { buildFixtureLayout, buildTar, type FixtureLayout } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesStream } from './bytes-stream.js';
import { convertLayers } from './convert-layers.js';
import { copy } from './copy.js';
import { ImageDirectory } from './image-directory.js';
import { OciLayout } from './oci-layout.js';
import { blobPath, expectedFixtureTree, imageIn, run, unpackWithUmoci } from './testing/fixture-image.js';
import { extractedTree, type LayerTree, squashfsTree, tarTree } from './testing/layer-tree.js';

let work: string;
let single: FixtureLayout;
/** Each fixture layer's tree, as tar-stream reads the original tar. */
let originalTrees: LayerTree[];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-convert-'));
  single = await buildFixtureLayout(join(work, 'single'));
  originalTrees = await Promise.all(
    single.images[0]!.layers.map(async (layer) =>
      tarTree(gunzipSync(await readFile(blobPath(single.dir, layer.digest)))),
    ),
  );
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('converting layers in the copy', () => {
  it('to squashfs: each layer unpacks (our reader and unsquashfs) to the tree of its tar', async () => {
    const dst = join(work, 'squashfs');
    const result = await copy(new OciLayout(single.dir, 'latest'), new OciLayout(dst, 'v1'), {
      edit: convertLayers('squashfs'),
    });
    expect(result.layersTransformed).toBe(2);
    const { manifest, config } = await imageIn(dst, result.descriptor.digest);
    expect(manifest.mediaType).toBe(MediaType.ociManifest);
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([
      MediaType.ociLayerSquashfs,
      MediaType.ociLayerSquashfs,
    ]);
    // concil's convention: a squashfs layer's diff_id is the blob's digest.
    expect(config.rootfs.diff_ids).toEqual(manifest.layers.map((l) => l.digest));
    for (const [i, layer] of manifest.layers.entries()) {
      const image = blobPath(dst, layer.digest);
      expect(computeDigest(await readFile(image))).toBe(layer.digest);
      expect(await squashfsTree(image)).toEqual(originalTrees[i]);
      const extracted = join(work, `unsquashfs-${i}`);
      await run('unsquashfs', ['-no-progress', '-d', extracted, image]);
      expect(await extractedTree(extracted)).toEqual(originalTrees[i]);
    }
  });

  it('to squashfs: each image is written once, in the destination (nothing in TMPDIR), and renamed in', async () => {
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = join(work, 'no-temporary-directory');
    const dst = join(work, 'squashfs-in-place');
    try {
      const result = await copy(new OciLayout(single.dir, 'latest'), new OciLayout(dst, 'v1'), {
        edit: convertLayers('squashfs'),
      });
      expect(result.layersTransformed).toBe(2);
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
    }
    const reference = await imageIn(
      join(work, 'squashfs'),
      (await new OciLayout(join(work, 'squashfs'), 'v1').resolve()).digest,
    );
    const { manifest } = await imageIn(dst, (await new OciLayout(dst, 'v1').resolve()).digest);
    expect(manifest.layers).toEqual(reference.manifest.layers);
    const blobs = await readdir(join(dst, 'blobs', 'sha256'));
    expect(blobs.filter((name) => name.startsWith('.'))).toEqual([]);
  });

  it('back to tar+gzip: the same trees again, which umoci unpacks and skopeo reads', async () => {
    const squashfs = new OciLayout(join(work, 'squashfs'), 'v1');
    const dst = join(work, 'back');
    const result = await copy(squashfs, new OciLayout(dst, 'v1'), { edit: convertLayers('gzip') });
    expect(result.layersTransformed).toBe(2);
    const { manifest, config } = await imageIn(dst, result.descriptor.digest);
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([MediaType.ociLayerGzip, MediaType.ociLayerGzip]);
    for (const [i, layer] of manifest.layers.entries()) {
      const tar = gunzipSync(await readFile(blobPath(dst, layer.digest)));
      expect(config.rootfs.diff_ids[i]).toBe(computeDigest(tar));
      expect(await tarTree(tar)).toEqual(originalTrees[i]);
    }
    expect(await unpackWithUmoci(dst, 'v1', join(work, 'bundle'))).toEqual(expectedFixtureTree());
    const { stdout } = await run('skopeo', ['inspect', `oci:${dst}:v1`]);
    expect(JSON.parse(stdout).Layers).toEqual(manifest.layers.map((l) => l.digest));
  });

  it('to tar+zstd and to uncompressed tar: the same trees, diff_ids computed while streaming', async () => {
    const zstd = join(work, 'zstd');
    const zstdResult = await copy(new OciLayout(single.dir, 'latest'), new OciLayout(zstd, 'v1'), {
      edit: convertLayers('zstd'),
    });
    const zstdImage = await imageIn(zstd, zstdResult.descriptor.digest);
    expect(zstdImage.config.rootfs.diff_ids).toEqual(single.images[0]!.diffIds);
    for (const [i, layer] of zstdImage.manifest.layers.entries()) {
      expect(layer.mediaType).toBe(MediaType.ociLayerZstd);
      expect(await tarTree(zstdDecompressSync(await readFile(blobPath(zstd, layer.digest))))).toEqual(
        originalTrees[i],
      );
    }
    const plain = join(work, 'plain');
    const plainResult = await copy(new OciLayout(zstd, 'v1'), new OciLayout(plain, 'v1'), {
      edit: convertLayers('none'),
    });
    const plainImage = await imageIn(plain, plainResult.descriptor.digest);
    expect(plainImage.manifest.layers.map((l) => l.mediaType)).toEqual([
      MediaType.ociLayerTar,
      MediaType.ociLayerTar,
    ]);
    expect(plainImage.manifest.layers.map((l) => l.digest)).toEqual(single.images[0]!.diffIds);
    expect(plainImage.config.rootfs.diff_ids).toEqual(single.images[0]!.diffIds);
    expect(await unpackWithUmoci(plain, 'v1', join(work, 'bundle'))).toEqual(expectedFixtureTree());
  });

  it('passes layers already in the format through untouched', async () => {
    const result = await copy(new OciLayout(single.dir, 'latest'), new OciLayout(join(work, 'same'), 'v1'), {
      edit: convertLayers('gzip'),
    });
    expect(result).toMatchObject({ descriptor: single.root, layersTransformed: 0 });
  });

  it('with all: converts a layer shared by two platforms once, and rebuilds the index', async () => {
    const multi = await buildFixtureLayout(join(work, 'multi'), {
      platforms: ['linux/amd64', 'linux/arm64'],
    });
    const dst = join(work, 'multi-squashfs');
    const result = await copy(new OciLayout(multi.dir, 'latest'), new OciLayout(dst, 'v1'), {
      all: true,
      edit: convertLayers('squashfs'),
    });
    expect(result.layersTransformed).toBe(3);
    const index = JSON.parse(await readFile(blobPath(dst, result.descriptor.digest), 'utf8')) as ImageIndex;
    expect(index.manifests.map((m) => m.platform)).toEqual(multi.images.map((i) => i.manifest.platform));
    const [amd, arm] = await Promise.all(index.manifests.map((m) => imageIn(dst, m.digest)));
    expect(amd!.manifest.layers[0]).toEqual(arm!.manifest.layers[0]);
    expect(amd!.manifest.layers[1]!.digest).not.toBe(arm!.manifest.layers[1]!.digest);
    expect((await readdir(join(dst, 'blobs', 'sha256'))).length).toBe(1 + 2 * 2 + 3);
  });
});

/** An image of one layer (an uncompressed tar unless told), whose config says `diffId`. */
async function oneLayerImage(
  path: string,
  blob: Buffer,
  { mediaType = MediaType.ociLayerTar as string, diffId = computeDigest(blob) } = {},
): Promise<OciLayout> {
  const layout = new OciLayout(path, 'v1');
  const push = async (mediaType: string, bytes: Uint8Array) => {
    const desc = { mediaType, digest: computeDigest(bytes), size: bytes.byteLength };
    await layout.push(desc, bytesStream(bytes));
    return desc;
  };
  const layer = await push(mediaType, blob);
  const config = await push(
    MediaType.ociConfig,
    Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] } }),
    ),
  );
  const { bytes, descriptor } = encodeManifest(
    { schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer] },
    MediaType.ociManifest,
  );
  await layout.push(descriptor, bytesStream(bytes));
  await layout.tag(descriptor);
  return layout;
}

describe('converting layers as real tools write them, and bad ones', () => {
  const entries = [
    { type: 'directory' as const, name: 'etc' },
    { type: 'file' as const, name: 'etc/hostname', content: 'concil\n' },
  ];

  it('converts a tar that ends right after its last data (umoci 0.4.7) to squashfs', async () => {
    const whole = await buildTar(entries);
    let end = whole.length;
    while (whole.subarray(end - 512, end).every((byte) => byte === 0)) end -= 512;
    const truncated = whole.subarray(0, end - (512 - 'concil\n'.length));
    const src = await oneLayerImage(join(work, 'truncated'), truncated);
    const dst = join(work, 'truncated-squashfs');
    const result = await copy(src, new OciLayout(dst, 'v1'), { edit: convertLayers('squashfs') });
    const { manifest } = await imageIn(dst, result.descriptor.digest);
    expect(await squashfsTree(blobPath(dst, manifest.layers[0]!.digest))).toEqual(await tarTree(whole));
  });

  it('reads a layer to its last byte even after the tar ended: a corrupt padding fails the copy', async () => {
    // GNU tar pads archives to 10 KiB records: the squashfs writer stops at the end blocks, but
    // the blob is verified whole before anything is kept.
    const padded = Buffer.concat([await buildTar(entries), Buffer.alloc(8192)]);
    const src = await oneLayerImage(join(work, 'padded'), padded);
    const blob = blobPath(join(work, 'padded'), computeDigest(padded));
    const bytes = await readFile(blob);
    bytes[bytes.length - 1] = 1;
    await writeFile(blob, bytes);
    const dst = join(work, 'padded-dir');
    const error = await copy(src, new ImageDirectory(dst), { edit: convertLayers('squashfs') }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'DIGEST_INVALID' });
    expect(await readdir(work)).not.toContain('padded-dir');
  });

  it('refuses a layer whose tar is not what the config says (DIFF_ID_MISMATCH), and keeps nothing', async () => {
    const tar = await buildTar(entries);
    const lie = computeDigest('another tar');
    const src = await oneLayerImage(join(work, 'lying'), tar, { diffId: lie });
    const dst = join(work, 'lying-dir');
    for (const to of ['squashfs', 'gzip'] as const) {
      const error = await copy(src, new ImageDirectory(dst), { edit: convertLayers(to) }).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'DIFF_ID_MISMATCH' });
      expect((error as Error).message).toContain(
        `unpacks to a tar with digest ${computeDigest(tar)}, but the image config says ${lie}`,
      );
      expect(await readdir(work)).not.toContain('lying-dir');
    }
  });

  it('refuses a layer that does not decompress as its media type says (LAYER_INVALID)', async () => {
    const tar = await buildTar(entries);
    const src = await oneLayerImage(join(work, 'not-gzip'), tar, { mediaType: MediaType.ociLayerGzip });
    const error = await copy(src, new ImageDirectory(join(work, 'not-gzip-dir')), {
      edit: convertLayers('squashfs'),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'LAYER_INVALID' });
    expect((error as Error).message).toBe(
      `layer ${computeDigest(tar)} does not decompress as ${MediaType.ociLayerGzip}: incorrect header check`,
    );
  });
});
