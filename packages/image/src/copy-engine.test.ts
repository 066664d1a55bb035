import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  computeDigest,
  type Descriptor,
  encodeManifest,
  type ImageIndex,
  MediaType,
  parsePlatform,
  type Target,
} from '@concil/oci-spec';
import { openRegistryTarget } from '@concil/registry-client';
import { buildFixtureLayout, type FixtureLayout, startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesStream } from './bytes-stream.js';
import { copy } from './copy.js';
import type { ImageEditor } from './copy-plan.js';
import { editImage } from './edit-image.js';
import type { LayerTransform } from './layer-transform.js';
import { OciLayout } from './oci-layout.js';
import { openTarget } from './open-target.js';
import { blobPath, imageIn, run, streamOf } from './testing/fixture-image.js';

let work: string;
let multi: FixtureLayout;
let registry: TestRegistry;
/** `multi`'s layout with one more root, tagged `nested`: an index whose only entry is `multi`'s index. */
let nested: string;
let nestedRoot: Descriptor;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-copy-engine-'));
  registry = await startRegistry();
  multi = await buildFixtureLayout(join(work, 'multi'), { platforms: ['linux/amd64', 'linux/arm64'] });
  nested = join(work, 'nested');
  await cp(multi.dir, nested, { recursive: true });
  const layout = new OciLayout(nested, 'nested');
  const { bytes, descriptor } = encodeManifest(
    {
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [{ mediaType: multi.root.mediaType, digest: multi.root.digest, size: multi.root.size }],
    },
    MediaType.ociIndex,
  );
  await layout.push(descriptor, bytesStream(bytes));
  await layout.tag(descriptor);
  nestedRoot = descriptor;
}, 60_000);
afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

const arm64 = () => multi.images.find((image) => image.platform.startsWith('linux/arm64'))!;

describe('the copy engine: platforms and indexes', () => {
  it('copies the image of the platform asked for out of an index, and only it', async () => {
    const dst = join(work, 'arm64');
    const result = await copy(new OciLayout(multi.dir, multi.tag), new OciLayout(dst, 'v1'), {
      platform: parsePlatform('linux/arm64'),
    });
    expect(result.descriptor.digest).toBe(arm64().manifest.digest);
    expect(result.blobsCopied).toBe(3); // its config and its two layers
    const index = JSON.parse(await readFile(join(dst, 'index.json'), 'utf8')) as ImageIndex;
    expect(index.manifests.map((m) => m.digest)).toEqual([arm64().manifest.digest]);
    expect((await readdir(join(dst, 'blobs', 'sha256'))).sort()).toEqual(
      [arm64().manifest, arm64().config, ...arm64().layers].map((d) => d.digest.slice(7)).sort(),
    );
  });

  it('refuses a platform the index lacks, naming the ones it has, and writes nothing', async () => {
    const dst = join(work, 'no-such-platform');
    const error = await copy(new OciLayout(multi.dir, multi.tag), new OciLayout(dst, 'v1'), {
      platform: parsePlatform('linux/s390x'),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'PLATFORM_NOT_FOUND',
      message: expect.stringContaining('available: linux/amd64, linux/arm64'),
    });
    await expect(readdir(dst)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('copies a nested index whole with all, byte for byte, and skopeo reads it', async () => {
    const dst = join(work, 'nested-all');
    const result = await copy(new OciLayout(nested, 'nested'), new OciLayout(dst, 'v1'), { all: true });
    expect(result.descriptor).toEqual(nestedRoot);
    for (const digest of [nestedRoot.digest, ...multi.blobs]) {
      expect(computeDigest(await readFile(blobPath(dst, digest)))).toBe(digest);
    }
    const { stdout } = await run('skopeo', ['inspect', '--raw', `oci:${dst}:v1`]);
    expect(computeDigest(stdout)).toBe(nestedRoot.digest);
  });

  it('finds the platform asked for inside a nested index', async () => {
    const dst = join(work, 'nested-arm64');
    const result = await copy(new OciLayout(nested, 'nested'), new OciLayout(dst, 'v1'), {
      platform: parsePlatform('linux/arm64'),
    });
    expect(result.descriptor.digest).toBe(arm64().manifest.digest);
    expect(result.blobsCopied).toBe(3);
  });

  it('with all and edits: each platform edited, the index rebuilt around them', async () => {
    const dst = join(work, 'all-edited');
    const edit = await editImage({ config: { env: ['MODE=edited'] } });
    const result = await copy(new OciLayout(multi.dir, multi.tag), new OciLayout(dst, 'v1'), {
      all: true,
      edit,
    });
    const index = JSON.parse(await readFile(blobPath(dst, result.descriptor.digest), 'utf8')) as ImageIndex;
    expect(index.manifests.map((m) => m.platform)).toEqual(multi.images.map((i) => i.manifest.platform));
    for (const [i, entry] of index.manifests.entries()) {
      expect(entry.digest).not.toBe(multi.images[i]!.manifest.digest);
      const { manifest, config } = await imageIn(dst, entry.digest);
      expect(manifest.layers).toEqual(multi.images[i]!.layers); // layers untouched
      expect(config.config?.Env).toContain('MODE=edited');
      expect(config.architecture).toBe(multi.images[i]!.platform.split('/')[1]);
    }
  });
});

/** Ingests a small new layer, then tells `written`. */
function addsLayer(written: () => void): LayerTransform {
  return {
    id: 'test:adds',
    async apply(_sources, { ingest }) {
      const descriptor = await ingest(MediaType.ociLayerTar, streamOf(Buffer.alloc(2048)));
      written();
      return { descriptor, diffId: descriptor.digest };
    },
  };
}

/** Fails once `ready` settles: by then another transform has written its blob. */
function failsAfter(ready: Promise<void>): LayerTransform {
  return {
    id: 'test:fails',
    async apply() {
      await ready;
      throw new Error('the transform broke');
    },
  };
}

/** An edit that writes a new layer into the destination, then fails. */
function failingEdit(): ImageEditor {
  let written: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    written = resolve;
  });
  return ({ manifest }) => ({
    layers: [
      ...manifest.layers.map((_, source) => ({ source })),
      { transform: addsLayer(written), sources: [] },
      { transform: failsAfter(ready), sources: [] },
    ],
  });
}

/** path → sha256 of every file below `dir` (the destination's whole state on disk). */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const state = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    state.set(
      path,
      createHash('sha256')
        .update(await readFile(path))
        .digest('hex'),
    );
  }
  return state;
}

describe('the copy engine: transforms are bound apart from blobs', () => {
  it('runs no more transforms at once than transformConcurrency', async () => {
    let running = 0;
    let most = 0;
    const counts: LayerTransform = {
      id: 'test:counts',
      async apply([source], { ingest }) {
        running++;
        most = Math.max(most, running);
        const content = await source!.open();
        const descriptor = await ingest(source!.descriptor.mediaType, content);
        running--;
        return { descriptor, diffId: source!.diffId! as Descriptor['digest'] };
      },
    };
    const edit: ImageEditor = ({ manifest }) => ({
      layers: manifest.layers.map((_, i) => ({ transform: counts, sources: [i] })),
    });
    const dst = join(work, 'one-transform-at-once');
    const result = await copy(new OciLayout(multi.dir, multi.tag), new OciLayout(dst, 'v1'), {
      all: true,
      edit,
      concurrency: 4,
      transformConcurrency: 1,
    });
    expect(result.layersTransformed).toBe(3);
    expect(most).toBe(1);
  });
});

describe('the copy engine: the first failure ends the copy', () => {
  it('aborts the transfers still running, and fails with the first error', async () => {
    let sawAbort = false;
    const waits: LayerTransform = {
      id: 'test:waits-for-abort',
      apply: (_sources, { signal }) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            sawAbort = true;
            reject(signal.reason);
          });
        }),
    };
    const breaks: LayerTransform = {
      id: 'test:breaks',
      async apply() {
        throw new Error('first failure');
      },
    };
    const edit: ImageEditor = () => ({
      layers: [
        { transform: waits, sources: [0] },
        { transform: breaks, sources: [1] },
      ],
    });
    const dst = join(work, 'first-failure');
    await expect(
      copy(new OciLayout(multi.dir, multi.tag), new OciLayout(dst, 'v1'), {
        all: true,
        edit,
        transformConcurrency: 2, // both at once: one waits for the abort the other's failure makes
      }),
    ).rejects.toThrow('first failure');
    expect(sawAbort).toBe(true);
    await expect(readdir(dst)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  const local: [string, (dir: string) => string][] = [
    ['dir:', (dir) => `dir:${join(dir, 'image')}`],
    ['oci:', (dir) => `oci:${join(dir, 'layout')}:v1`],
    ['oci-archive:', (dir) => `oci-archive:${join(dir, 'image.tar')}:v1`],
    ['docker-archive:', (dir) => `docker-archive:${join(dir, 'image.tar')}:app:v1`],
  ];
  for (const [kind, specIn] of local) {
    it(`leaves a ${kind} destination as it was when the copy fails after writing`, async () => {
      const dir = join(work, `fails-into-${kind.replace(':', '')}`);
      await mkdir(dir);
      const spec = specIn(dir);
      const source = () => new OciLayout(multi.dir, multi.tag);
      await copy(source(), openTarget(spec)); // what was there before
      const before = await snapshot(dir);
      const error = await copy(source(), openTarget(spec), { edit: failingEdit() }).catch((e: unknown) => e);
      expect(error).toMatchObject({ message: 'the transform broke' });
      expect(await snapshot(dir)).toEqual(before);
    });
  }

  it('tags nothing in a registry when the copy fails after writing', async () => {
    const dst: Target & { client?: { close(): Promise<void> } } = openRegistryTarget(
      `docker://${registry.host}/fails/app:v1`,
    );
    const error = await copy(new OciLayout(multi.dir, multi.tag), dst, { edit: failingEdit() }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ message: 'the transform broke' });
    await expect(dst.resolve('v1')).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
    await dst.client?.close();
  });
});
