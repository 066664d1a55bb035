import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { computeDigest, type Descriptor, digestHex, MediaType, type Target } from '@concil/oci-spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageDirectory } from './image-directory.js';
import { ingestBlob } from './ingest-blob.js';
import { OciLayout } from './oci-layout.js';

let work: string;
const bytes = Buffer.concat([Buffer.from('layer bytes '), Buffer.alloc(3 << 20, 1)]);
const expected = { mediaType: MediaType.ociLayerTar, digest: computeDigest(bytes), size: bytes.length };

/** Content that fails half-way, as a transform that breaks does. */
function failingContent(): Readable {
  return Readable.from(
    (async function* () {
      yield bytes.subarray(0, 1000);
      throw new Error('the transform broke');
    })(),
  );
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-ingest-test-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('OciLayout.ingest', () => {
  it('hashes while it writes and names the blob by its digest', async () => {
    const layout = new OciLayout(join(work, 'layout'));
    expect(await layout.ingest(MediaType.ociLayerTar, Readable.from([bytes]))).toEqual(expected);
    const blobs = join(work, 'layout', 'blobs', 'sha256');
    expect(await readdir(blobs)).toEqual([digestHex(expected.digest)]);
    expect((await readFile(join(blobs, digestHex(expected.digest)))).equals(bytes)).toBe(true);
  });

  it('keeps nothing of content that fails', async () => {
    const layout = new OciLayout(join(work, 'failing-layout'));
    await expect(layout.ingest(MediaType.ociLayerTar, failingContent())).rejects.toThrow(/broke/);
    expect(await readdir(join(work, 'failing-layout', 'blobs', 'sha256'))).toEqual([]);
  });
});

describe('ImageDirectory.ingest', () => {
  it('stages the blob under its digest and keeps it on commit', async () => {
    const path = join(work, 'dir');
    const dir = new ImageDirectory(path);
    expect(await dir.ingest(MediaType.ociLayerTar, Readable.from([bytes]))).toEqual(expected);
    expect(await dir.exists(expected)).toBe(true);
    await dir.commit();
    expect((await readFile(join(path, digestHex(expected.digest)))).equals(bytes)).toBe(true);
  });

  it('keeps nothing of content that fails, and leaves the directory as it was', async () => {
    const path = join(work, 'dir');
    const before = (await readdir(path)).sort();
    const dir = new ImageDirectory(path);
    await expect(dir.ingest(MediaType.ociLayerTar, failingContent())).rejects.toThrow(/broke/);
    await dir.abort();
    expect((await readdir(path)).sort()).toEqual(before);
    expect((await readdir(work)).filter((name) => name.includes('.concil-'))).toEqual([]);
  });
});

describe('ingestBlob', () => {
  /** A target that can only push content of known digest (no `ingest`), like a third party's. */
  function pushOnly(layout: OciLayout, pushed: Descriptor[]): Target {
    return {
      name: 'push-only',
      fetch: (desc) => layout.fetch(desc),
      exists: (desc) => layout.exists(desc),
      resolve: (reference) => layout.resolve(reference),
      tag: (desc, reference) => layout.tag(desc, reference),
      push: async (desc, content) => {
        pushed.push(desc);
        await layout.push(desc, content);
      },
    };
  }

  it('uses the target’s own ingest when it has one', async () => {
    const layout = new OciLayout(join(work, 'own'));
    expect(await ingestBlob(layout, MediaType.ociLayerTar, Readable.from([bytes]))).toEqual(expected);
    expect(await layout.exists(expected)).toBe(true);
  });

  it('spools to a temporary file while hashing, then pushes the verified descriptor', async () => {
    const spoolDir = join(work, 'spool');
    await mkdir(spoolDir);
    const pushed: Descriptor[] = [];
    const layout = new OciLayout(join(work, 'fallback'));
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = spoolDir;
    try {
      const target = pushOnly(layout, pushed);
      expect(await ingestBlob(target, MediaType.ociLayerTar, Readable.from([bytes]))).toEqual(expected);
      await expect(ingestBlob(target, MediaType.ociLayerTar, failingContent())).rejects.toThrow(/broke/);
    } finally {
      process.env.TMPDIR = previous;
    }
    expect(pushed).toEqual([expected]);
    expect(await layout.exists(expected)).toBe(true);
    expect(await readdir(spoolDir)).toEqual([]);
  });
});
