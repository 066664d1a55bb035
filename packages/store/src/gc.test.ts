import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sizeOf } from './atomic-file.js';
import { openStore } from './store.js';
import { type BuiltImage, buildImage, pushImage, randomFile } from './testing/fixtures.js';
import { useHarness } from './testing/harness.js';

const HOUR = 3600_000;
const h = useHarness();
let a: BuiltImage;
let b: BuiltImage;
let refA: string;
let refB: string;

beforeAll(async () => {
  const base = { files: [randomFile('base/lib.bin', 100_000)] };
  a = buildImage([base, { files: [randomFile('a/only.bin', 50_000)] }]);
  b = buildImage([base, { files: [randomFile('b/only.bin', 60_000)] }]);
  await pushImage(h.registry.url, 'gc/a', '1', a);
  await pushImage(h.registry.url, 'gc/b', '1', b);
  refA = `${h.proxy.host}/gc/a:1`;
  refB = `${h.proxy.host}/gc/b:1`;
}, 60_000);

function clock(start: number) {
  const c = { now: start, tick: () => c.now };
  return c;
}

describe('cleanup', () => {
  it('expires images by last use, keeping what a kept image still references', async () => {
    const t = clock(Date.now());
    const store = await h.store({ cache_timeout: 2 * 3600 }, { now: t.tick });
    await store.pull(refA, { squashfs: true });
    t.now += HOUR;
    await store.pull(refB, { squashfs: true });
    expect((await store.list()).map((i) => i.reference)).toEqual([refA, refB]);

    t.now += 1.5 * HOUR; // A unused for 2.5 h, B for 1.5 h
    const sharedSquashfs = await sizeOf(store.layout.squashfsPath(a.layers[0]!.diffId));
    const result = await store.prune({ graceSeconds: 0 });
    expect(result.removedImages).toEqual([refA]);
    const layout = store.layout;
    const baseLayer = a.layers[0]!.descriptor;
    expect(await sizeOf(layout.blobPath(baseLayer.digest))).toBe(baseLayer.size);
    expect(sharedSquashfs).toEqual(expect.any(Number));
    expect(await sizeOf(layout.squashfsPath(a.layers[0]!.diffId))).toBe(sharedSquashfs); // kept as it was
    expect(await sizeOf(layout.blobPath(a.layers[1]!.descriptor.digest))).toBeUndefined();
    expect(await sizeOf(layout.squashfsPath(a.layers[1]!.diffId))).toBeUndefined();
    expect(await sizeOf(layout.blobPath(a.manifestDescriptor.digest))).toBeUndefined();
    expect((await store.image(refB))?.manifestDescriptor).toEqual(b.manifestDescriptor);
    expect(await store.image(refA)).toBeUndefined();
    expect((await store.verify()).problems).toEqual([]);
  });

  it('a use refreshes the last use: an image pulled again does not expire', async () => {
    const t = clock(Date.now());
    const store = await h.store({ cache_timeout: 3600 }, { now: t.tick });
    await store.pull(refA);
    t.now += 0.9 * HOUR;
    await store.pull(refA, { offline: true });
    t.now += 0.9 * HOUR;
    expect((await store.prune({ graceSeconds: 0 })).removedImages).toEqual([]);
    t.now += 1.1 * HOUR;
    expect((await store.prune({ graceSeconds: 0 })).removedImages).toEqual([refA]);
  });

  it('bounds the size by evicting the least recently used image, and only what it alone kept', async () => {
    const t = clock(Date.now());
    const probe = await h.store();
    await probe.pull(refB);
    const sizeB = (await probe.list())[0]!.size;

    const store = await h.store({ cache_max_bytes: sizeB + 1000 }, { now: t.tick });
    await store.pull(refB);
    t.now += 1000;
    await store.pull(refA);
    t.now += 1000;
    await store.pull(refB, { offline: true }); // B is now the most recently used
    const result = await store.prune({ graceSeconds: 0 });
    expect(result.removedImages).toEqual([refA]);
    expect((await store.image(refB))?.manifestDescriptor).toEqual(b.manifestDescriptor);
    expect(await sizeOf(store.layout.blobPath(a.layers[0]!.descriptor.digest))).toBe(
      a.layers[0]!.descriptor.size,
    );
    expect(await sizeOf(store.layout.blobPath(a.layers[1]!.descriptor.digest))).toBeUndefined();
  });

  it('opening and listing the store leave what a killed pull left; gc removes it and says so', async () => {
    const store = await h.store();
    const leftover = join(store.layout.tmpDir, '999999999-abcdef.blob');
    await writeFile(leftover, 'partial');
    const again = await openStore({ config: store.config });
    expect(await again.list()).toEqual([]);
    expect(await sizeOf(leftover)).toBe(7);
    expect(await again.gc()).toEqual({ removedImages: [], removedFiles: 1, freedBytes: 7 });
    expect(await sizeOf(leftover)).toBeUndefined();
  });

  it('the next pull removes what a killed pull left', async () => {
    const store = await h.store();
    const leftover = join(store.layout.tmpDir, '999999999-abcdef.blob');
    await writeFile(leftover, 'partial');
    await store.pull(refA);
    expect(await sizeOf(leftover)).toBeUndefined();
  });

  it('gc removes unreferenced content and leftovers of dead processes, not fresh content', async () => {
    const store = await h.store();
    await store.pull(refA);
    const stray = join(store.layout.blobsDir, 'sha256', 'a'.repeat(64));
    await writeFile(stray, 'unreferenced');
    const leftover = join(store.layout.tmpDir, '999999999-abcdef.blob');
    await writeFile(leftover, 'partial');
    const ours = join(store.layout.tmpDir, `${process.pid}-abcdef.blob`);
    await writeFile(ours, 'being written');
    const staleLock = join(store.layout.locksDir, `sha256-${'b'.repeat(64)}.lock`);
    await mkdir(staleLock);
    await utimes(staleLock, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    // Within the grace time only the leftover of a dead process and its stale lock go.
    expect((await store.gc()).removedFiles).toBe(2);
    expect(await sizeOf(staleLock)).toBeUndefined();
    expect(await sizeOf(stray)).toBe('unreferenced'.length);
    expect(await sizeOf(leftover)).toBeUndefined();
    expect(await sizeOf(ours)).toBe('being written'.length);
    await store.gc({ graceSeconds: 0 });
    expect(await sizeOf(stray)).toBeUndefined();
    expect((await store.image(refA))?.manifestDescriptor).toEqual(a.manifestDescriptor);
    const all = await store.prune({ all: true });
    expect(all.removedImages).toEqual([refA]);
    expect(await store.list()).toEqual([]);
    expect(await sizeOf(store.layout.blobPath(a.layers[0]!.descriptor.digest))).toBeUndefined();
  });
});
