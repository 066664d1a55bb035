import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { copy, ImageError, OciLayout } from '@concil/image';
import {
  computeDigest,
  type Digest,
  encodeManifest,
  type ImageConfig,
  type ImageManifest,
  MediaType,
} from '@concil/oci-spec';
import { describe, expect, it } from 'vitest';
import type { EntryFilter } from './entry-filter.js';
import { FilterRun } from './filter-run.js';
import { parseFilters } from './filter-spec.js';
import { workerRecipes } from './filter-worker-pool.js';
import { directoryPerTest, rawTar, type TestImage, writeImage } from './testing/image-layout.js';

const dir = directoryPerTest();
const FILTERS = ['normalize-timestamps:1609459200', 'exclude:*.log'];

/** The same filters without their recipes: they run on the calling thread. */
const onThisThread = (filters: EntryFilter[]) =>
  filters.map(({ recipe: _recipe, ...filter }): EntryFilter => filter);

async function process(src: string, dst: string, filters: EntryFilter[]) {
  const run = new FilterRun(filters);
  return copy(new OciLayout(src, 'latest'), new OciLayout(dst, 'latest'), { edit: run.edit });
}

/** The error a copy of `image` through `filters` into `out` fails with. */
const failure = (image: TestImage, filters: EntryFilter[], out: string) =>
  process(image.layout, join(dir(), out), filters).then(
    () => undefined,
    (error: unknown) => error,
  );

/**
 * The error a copy of `image` through the filters fails with on a worker, checked to be the one
 * the calling thread fails with (its class and message), with nothing stored.
 */
async function sameFailure(image: TestImage): Promise<unknown> {
  const onWorker = await failure(image, parseFilters(FILTERS), 'worker');
  const here = await failure(image, onThisThread(parseFilters(FILTERS)), 'here');
  expect(onWorker).toBeInstanceOf(Error);
  expect((onWorker as Error).constructor).toBe((here as Error).constructor);
  expect((onWorker as Error).message).toBe((here as Error).message);
  expect(existsSync(join(dir(), 'worker', 'index.json'))).toBe(false);
  return onWorker;
}

async function twoLayerImage(): Promise<TestImage> {
  const long = `usr/share/${'deep/'.repeat(30)}file.txt`; // past 100 bytes: a pax header
  return writeImage(join(dir(), 'src'), [
    await rawTar([
      { name: 'etc/', type: 'directory', mode: 0o755 },
      { name: 'etc/hosts', content: '127.0.0.1 localhost\n', mtime: new Date('2023-05-06T07:08:09Z') },
      { name: 'var/log/app.log', content: 'dropped\n' },
      { name: long, content: 'x'.repeat(100_000) },
    ]),
    await rawTar([{ name: 'bin/tool', content: Buffer.alloc(3 << 20, 7), mode: 0o755 }]),
  ]);
}

/** More layers than the pool has workers, and than the copy runs at once: some wait for a worker. */
async function manyLayerImage(name: string): Promise<TestImage> {
  const tars = await Promise.all(
    Array.from({ length: 2 * availableParallelism() + 1 }, (_, i) =>
      rawTar([{ name: `layer-${i}/data`, content: Buffer.alloc(1 << 20, i) }]),
    ),
  );
  return writeImage(join(dir(), name), tars);
}

/**
 * `image` with its manifest and config edited (`edit` may add blobs through the target given):
 * tagged again, in place.
 */
async function editImage(
  image: TestImage,
  edit: (manifest: ImageManifest, config: ImageConfig, target: OciLayout) => Promise<void>,
): Promise<void> {
  const target = new OciLayout(image.layout, 'latest');
  const blob = (digest: string) => join(image.layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
  const manifest = JSON.parse(await readFile(blob(image.manifest.digest), 'utf8'));
  const config = JSON.parse(await readFile(blob(manifest.config.digest), 'utf8'));
  await edit(manifest, config, target);
  const push = async (mediaType: string, bytes: Uint8Array) => {
    const desc = { mediaType, digest: computeDigest(bytes), size: bytes.length };
    await target.push(desc, Readable.from([Buffer.from(bytes)]));
    return desc;
  };
  manifest.config = await push(MediaType.ociConfig, Buffer.from(JSON.stringify(config)));
  const manifestDesc = await push(
    MediaType.ociManifest,
    encodeManifest(manifest, MediaType.ociManifest).bytes,
  );
  await target.tag(manifestDesc, 'latest');
  await target.commit?.();
}

/** `image` with its config's first diff_id changed: the layer no longer unpacks to what it says. */
const withWrongDiffId = (image: TestImage) =>
  editImage(image, async (_manifest, config) => {
    config.rootfs.diff_ids[0] = computeDigest(Buffer.from('something else')) as Digest;
  });

/** `image` with a first layer that says it is gzip and is not; its digest is right. */
const withLayerNotGzip = (image: TestImage) =>
  editImage(image, async (manifest, _config, target) => {
    const bytes = Buffer.from('not gzip at all '.repeat(1000));
    const layer = { mediaType: MediaType.ociLayerGzip, digest: computeDigest(bytes), size: bytes.length };
    await target.push(layer, Readable.from([bytes]));
    manifest.layers[0] = layer;
  });

/** `image` with a first layer whose tar breaks off inside a file's content; its gzip and digest are right. */
const withLayerBrokenOff = (image: TestImage) =>
  editImage(image, async (manifest, _config, target) => {
    const tar = await rawTar([{ name: 'big', content: Buffer.alloc(3 << 20, 1) }]);
    const bytes = gzipSync(tar.subarray(0, 2 << 20));
    const layer = { mediaType: MediaType.ociLayerGzip, digest: computeDigest(bytes), size: bytes.length };
    await target.push(layer, Readable.from([bytes]));
    manifest.layers[0] = layer;
  });

describe('filters on a worker thread', () => {
  it('rewrite each layer there to the bytes the calling thread writes', async () => {
    const image = await twoLayerImage();
    const filters = parseFilters(FILTERS);
    // The worker is there to be taken (the package is built) for gzip layers.
    expect(
      workerRecipes(filters, {
        descriptor: image.layers[0]!,
        diffId: undefined,
        open: async () => Readable.from([]),
      }),
    ).toEqual([
      { name: 'normalize-timestamps', seconds: 1609459200 },
      { name: 'exclude', globs: ['*.log'], filter: 'exclude:*.log' },
    ]);
    const onWorker = await process(image.layout, join(dir(), 'worker'), filters);
    const here = await process(image.layout, join(dir(), 'here'), onThisThread(parseFilters(FILTERS)));
    expect(onWorker.descriptor.digest).toBe(here.descriptor.digest);
    expect(onWorker.descriptor.digest).not.toBe(image.manifest.digest);
  });

  it('rewrite a layer whose config claims another diff_id as the layer it is: the claim is not passed on', async () => {
    const image = await twoLayerImage();
    const truthful = await process(image.layout, join(dir(), 'truthful'), parseFilters(FILTERS));
    await withWrongDiffId(image);
    const onWorker = await process(image.layout, join(dir(), 'worker'), parseFilters(FILTERS));
    const here = await process(image.layout, join(dir(), 'here'), onThisThread(parseFilters(FILTERS)));
    // The blob digests vouch for the bytes; the new config has the new layers' diff_ids.
    expect(onWorker.descriptor.digest).toBe(truthful.descriptor.digest);
    expect(here.descriptor.digest).toBe(truthful.descriptor.digest);
  });

  it('fail as the calling thread does on a layer that does not decompress: its class, code and message', async () => {
    const image = await twoLayerImage();
    await withLayerNotGzip(image);
    const onWorker = await sameFailure(image);
    expect(onWorker).toBeInstanceOf(ImageError);
    expect(onWorker).toMatchObject({ code: 'LAYER_INVALID' });
  });

  it('fail as the calling thread does on a tar that breaks off inside a file, and store nothing', async () => {
    const image = await twoLayerImage();
    await withLayerBrokenOff(image);
    await sameFailure(image);
  });

  it('fail as the calling thread does on a source blob that is not its digest, and store nothing', async () => {
    const image = await twoLayerImage();
    // A well-formed layer, but not the one the manifest names: found out only at its end.
    const other = gzipSync(await rawTar([{ name: 'bin/other', content: Buffer.alloc(3 << 20, 8) }]));
    await writeFile(
      join(image.layout, 'blobs', 'sha256', image.layers[1]!.digest.slice('sha256:'.length)),
      other,
    );
    expect(await sameFailure(image)).toMatchObject({
      code: 'DIGEST_INVALID',
      subject: image.layers[1]!.digest,
    });
  });

  it('take turns on the pool when more layers come than there are workers, with the same bytes', async () => {
    const image = await manyLayerImage('src');
    const onWorker = await process(image.layout, join(dir(), 'worker'), parseFilters(FILTERS));
    const here = await process(image.layout, join(dir(), 'here'), onThisThread(parseFilters(FILTERS)));
    expect(onWorker.descriptor.digest).toBe(here.descriptor.digest);
  });

  it('give their places back when a copy fails while layers wait for a worker', async () => {
    const broken = await manyLayerImage('broken');
    // The first layer's blob runs on past its size: found out as its job opens it, on a worker's turn.
    const blob = join(broken.layout, 'blobs', 'sha256', broken.layers[0]!.digest.slice('sha256:'.length));
    await writeFile(blob, Buffer.concat([await readFile(blob), Buffer.alloc(1 << 20)]));
    expect(await failure(broken, parseFilters(FILTERS), 'never')).toMatchObject({
      code: 'SIZE_INVALID',
      subject: broken.layers[0]!.digest,
    });
    expect(existsSync(join(dir(), 'never', 'index.json'))).toBe(false);
    // The workers of the failed copy (stopped or idle) are there for the next one.
    const image = await twoLayerImage();
    const onWorker = await process(image.layout, join(dir(), 'worker'), parseFilters(FILTERS));
    const here = await process(image.layout, join(dir(), 'here'), onThisThread(parseFilters(FILTERS)));
    expect(onWorker.descriptor.digest).toBe(here.descriptor.digest);
  });
});
