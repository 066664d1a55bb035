import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { copy, OciLayout } from '@concil/image';
import { computeDigest, MediaType } from '@concil/oci-spec';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { squashfsConversion } from './squashfs-conversion.js';
import { openStore } from './store.js';
import { buildImage, randomFile } from './testing/fixtures.js';
import { configOf } from './testing/harness.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'concil-store-target-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('is a target of the copy engine: an OCI layout copied in, converted on the way, is a cached image', async () => {
  const built = buildImage([{ files: [randomFile('a/b', 4000)] }, { files: [randomFile('c', 10)] }]);
  const layout = new OciLayout(join(dir, 'layout'));
  for (const layer of built.layers) await layout.push(layer.descriptor, Readable.from([layer.bytes]));
  await layout.push(built.configDescriptor, Readable.from([built.config]));
  await layout.push(built.manifestDescriptor, Readable.from([built.manifest]));
  await layout.tag(built.manifestDescriptor, 'v1');

  const store = await openStore({ config: configOf(join(dir, 'cache')) });
  const result = await copy(new OciLayout(join(dir, 'layout'), 'v1'), store.target(), {
    ...squashfsConversion(store),
    dstReference: 'docker://registry.example.com/team/app:v1',
  });
  expect(result.blobsCopied).toBe(3);
  const image = await store.image('registry.example.com/team/app:v1');
  expect(image?.manifestDescriptor.digest).toBe(built.manifestDescriptor.digest);
  expect(image?.layers.every((layer) => layer.squashfsPath)).toBe(true);
  // A second copy finds everything there.
  const again = await copy(new OciLayout(join(dir, 'layout'), 'v1'), store.target(), {
    dstReference: 'registry.example.com/team/app:v1',
  });
  expect(again.blobsCopied).toBe(0);
  expect((await store.verify()).problems).toEqual([]);
});

it('ingests content of unknown digest: hashed in tmp/, renamed in under its digest', async () => {
  const store = await openStore({ config: configOf(join(dir, 'ingest-cache')) });
  const target = store.target();
  const bytes = Buffer.alloc(2 << 20, 3);
  const desc = await target.ingest(MediaType.ociLayerTar, Readable.from([bytes]));
  expect(desc).toEqual({
    mediaType: MediaType.ociLayerTar,
    digest: computeDigest(bytes),
    size: bytes.length,
  });
  expect(await store.hasBlob(desc)).toBe(true);
  expect((await readFile(store.layout.blobPath(desc.digest))).equals(bytes)).toBe(true);

  const broken = Readable.from(
    (async function* () {
      yield bytes.subarray(0, 1000);
      throw new Error('the transform broke');
    })(),
  );
  await expect(target.ingest(MediaType.ociLayerTar, broken)).rejects.toThrow(/broke/);
  expect(await readdir(store.layout.tmpDir)).toEqual([]);
  expect((await store.verify()).problems).toEqual([]);
});

it('ingests a finished file: made in tmp/, hashed, renamed in under its digest (the very file)', async () => {
  const store = await openStore({ config: configOf(join(dir, 'ingest-file-cache')) });
  const target = store.target();
  const bytes = Buffer.alloc(2 << 20, 4);
  const path = await target.ingestPath();
  expect(dirname(path)).toBe(store.layout.tmpDir);
  await writeFile(path, bytes);
  const { ino } = await stat(path);
  const desc = await target.ingestFile(MediaType.ociLayerSquashfs, path);
  expect(desc).toEqual({
    mediaType: MediaType.ociLayerSquashfs,
    digest: computeDigest(bytes),
    size: bytes.length,
  });
  expect((await stat(store.layout.blobPath(desc.digest))).ino).toBe(ino);
  expect(await readdir(store.layout.tmpDir)).toEqual([]);
  expect((await store.verify()).problems).toEqual([]);
});
