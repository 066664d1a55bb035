import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Target } from '@concil/oci-spec';
import { openRegistryTarget } from '@concil/registry-client';
import {
  buildFixtureLayout,
  type FaultProxy,
  type FixtureLayout,
  pushFixture,
  startFaultProxy,
  startRegistry,
  type TestRegistry,
} from '@concil/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { copy } from './copy.js';
import { ImageDirectory } from './image-directory.js';
import { OciLayout } from './oci-layout.js';

let registry: TestRegistry;
let proxy: FaultProxy;
let work: string;
let fixture: FixtureLayout;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-interrupted-'));
  registry = await startRegistry();
  fixture = await buildFixtureLayout(join(work, 'fixture'));
  await pushFixture(fixture.dir, `${registry.host}/app:1`, { format: 'oci' });
  proxy = await startFaultProxy(registry.url);
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

beforeEach(() => proxy.clear());

const source = () => openRegistryTarget(`${proxy.host}/app:1`);

/**
 * Copies with the download of the top layer stalled after 64 bytes (the other blobs are written
 * complete), and aborts once those 64 bytes passed.
 */
async function copyStoppedMidBlob(dst: Target): Promise<unknown> {
  const topLayer = fixture.images[0]!.layers[1]!.digest;
  proxy.inject({ kind: 'stall', afterBytes: 64, match: { method: 'GET', path: new RegExp(topLayer) } });
  const controller = new AbortController();
  const src = source();
  const error = await copy(src, dst, {
    signal: controller.signal,
    onProgress: (event) => {
      if (event.type === 'bytes' && event.bytes === 64) controller.abort(new Error('stopped by the test'));
    },
  }).catch((e: unknown) => e);
  await src.client.close();
  return error;
}

/** The entries of a directory whose names mark them as staging or temporary files. */
async function leftoversIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.includes('.concil-') || name.endsWith('.tmp'));
}

/** A pid that belonged to a process which has ended. */
async function deadPid(): Promise<number> {
  const child = execFile('true');
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('a copy stopped through its AbortSignal', () => {
  it('leaves no image directory and no staging behind', { timeout: 20_000 }, async () => {
    const parent = join(work, 'stopped-dir');
    await mkdir(parent);
    const error = await copyStoppedMidBlob(new ImageDirectory(join(parent, 'image')));
    expect(error).toMatchObject({ message: 'stopped by the test' });
    expect(await readdir(parent)).toEqual([]);
  });

  it('leaves an OCI layout as it was', { timeout: 20_000 }, async () => {
    const layout = join(work, 'stopped-layout');
    await buildFixtureLayout(layout, { platforms: ['linux/arm64'], tag: 'other' });
    const before = (await readdir(layout, { recursive: true })).sort();
    const index = await readFile(join(layout, 'index.json'));
    // Its base layer is the image's, its config and top layer are not.
    const error = await copyStoppedMidBlob(new OciLayout(layout, 'v1'));
    expect(error).toMatchObject({ message: 'stopped by the test' });
    expect((await readdir(layout, { recursive: true })).sort()).toEqual(before);
    expect(await readFile(join(layout, 'index.json'))).toEqual(index);
  });
});

describe('the next copy to the same place', () => {
  it('removes the staging of image directory copies whose process is gone, not of running ones', async () => {
    const parent = join(work, 'swept-dir');
    const dead = await deadPid();
    const stale = join(parent, `.image.concil-${dead}-0123456789ab`);
    const running = join(parent, `.image.concil-${process.ppid}-0123456789ab`);
    const other = join(parent, `.other.concil-${dead}-0123456789ab`);
    for (const dir of [stale, running, other]) {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, `.abc.${dead}-0123456789ab.tmp`), 'partial');
    }
    await copy(source(), new ImageDirectory(join(parent, 'image')));
    expect((await readdir(parent)).sort()).toEqual(
      [running, other]
        .map((dir) => dir.slice(parent.length + 1))
        .concat('image')
        .sort(),
    );
  });

  it('puts back an image directory that a killed commit had moved aside', async () => {
    const parent = join(work, 'restored-dir');
    const dead = await deadPid();
    // Killed between the two renames of a commit: the old image moved aside, the new one staged.
    await copy(source(), new ImageDirectory(join(parent, `.image.concil-${dead}-0123456789ab.old`)));
    await mkdir(join(parent, `.image.concil-${dead}-0123456789ab`));
    const result = await copy(source(), new ImageDirectory(join(parent, 'image')));
    // The old image was back in place before the copy looked: it had every blob.
    expect(result).toMatchObject({ blobsCopied: 0, blobsSkipped: 3 });
    expect(await readdir(parent)).toEqual(['image']);
  });

  it('removes the temporary files of OCI layout copies whose process is gone, not of running ones', async () => {
    const layout = join(work, 'swept-layout');
    const blobs = join(layout, 'blobs', 'sha256');
    await mkdir(blobs, { recursive: true });
    const dead = await deadPid();
    const stale = [
      join(blobs, `.abc.${dead}-0123456789ab.tmp`),
      join(layout, `.index.json.${dead}-0123456789ab.tmp`),
      // The squashfs writer's own temporary file beside an ingest path of ours.
      join(blobs, `..ingest.${dead}-0123456789ab.tmp.fedcba987654.tmp`),
    ];
    const running = join(blobs, `.def.${process.ppid}-0123456789ab.tmp`);
    for (const path of [...stale, running]) await writeFile(path, 'partial');
    await copy(source(), new OciLayout(layout, 'v1'));
    expect(await leftoversIn(blobs)).toEqual([running.slice(blobs.length + 1)]);
    expect(await leftoversIn(layout)).toEqual([]);
  });
});
