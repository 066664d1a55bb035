import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { computeDigest, type Descriptor, digestHex, MediaType, type Target } from '@concil/oci-spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageDirectory } from './image-directory.js';
import { ingestBlob, ingestWrittenFile } from './ingest-blob.js';
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

/** Runs `use` with the temporary directory of the process pointed at `directory`. */
async function withTmpdir<T>(directory: string, use: () => Promise<T>): Promise<T> {
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = directory;
  try {
    return await use();
  } finally {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
  }
}

describe('ingestBlob', () => {
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
    await withTmpdir(spoolDir, async () => {
      const target = pushOnly(layout, pushed);
      expect(await ingestBlob(target, MediaType.ociLayerTar, Readable.from([bytes]))).toEqual(expected);
      await expect(ingestBlob(target, MediaType.ociLayerTar, failingContent())).rejects.toThrow(/broke/);
    });
    expect(pushed).toEqual([expected]);
    expect(await layout.exists(expected)).toBe(true);
    expect(await readdir(spoolDir)).toEqual([]);
  });
});

describe('ingestFile', () => {
  it('renames the file into an OCI layout under its digest: the blob is the very file written', async () => {
    const layout = new OciLayout(join(work, 'file-layout'));
    const path = await layout.ingestPath();
    expect(path.startsWith(join(work, 'file-layout', 'blobs', 'sha256', '.'))).toBe(true);
    await writeFile(path, bytes);
    const { ino } = await stat(path);
    expect(await layout.ingestFile(MediaType.ociLayerTar, path)).toEqual(expected);
    const blob = join(work, 'file-layout', 'blobs', 'sha256', digestHex(expected.digest));
    expect((await stat(blob)).ino).toBe(ino);
    expect(await readdir(join(work, 'file-layout', 'blobs', 'sha256'))).toEqual([digestHex(expected.digest)]);
  });

  it('copies a file from another file system, and leaves neither it nor a temporary file', async () => {
    const elsewhere = await mkdtemp(join('/dev/shm', 'concil-ingest-file-'));
    try {
      const path = join(elsewhere, 'layer');
      await writeFile(path, bytes);
      const layout = new OciLayout(join(work, 'exdev-layout'));
      expect(await layout.ingestFile(MediaType.ociLayerTar, path)).toEqual(expected);
      expect(await readdir(elsewhere)).toEqual([]);
      const blobs = join(work, 'exdev-layout', 'blobs', 'sha256');
      expect(await readdir(blobs)).toEqual([digestHex(expected.digest)]);
      expect((await readFile(join(blobs, digestHex(expected.digest)))).equals(bytes)).toBe(true);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('stages the file in an image directory; abort leaves the directory as it was', async () => {
    const path = join(work, 'file-dir');
    const committed = new ImageDirectory(path);
    const file = await committed.ingestPath();
    await writeFile(file, bytes);
    expect(await committed.ingestFile(MediaType.ociLayerTar, file)).toEqual(expected);
    await committed.commit();
    expect((await readFile(join(path, digestHex(expected.digest)))).equals(bytes)).toBe(true);

    const before = (await readdir(path)).sort();
    const aborted = new ImageDirectory(path);
    const other = await aborted.ingestPath();
    await writeFile(other, Buffer.from('another layer'));
    await aborted.ingestFile(MediaType.ociLayerTar, other);
    await aborted.abort();
    expect((await readdir(path)).sort()).toEqual(before);
    expect((await readdir(work)).filter((name) => name.includes('.concil-'))).toEqual([]);
  });
});

describe('ingestWrittenFile', () => {
  it('has the file written on the target’s file system and renamed in: nothing goes through TMPDIR', async () => {
    const layout = new OciLayout(join(work, 'written'));
    const written: string[] = [];
    const desc = await withTmpdir(join(work, 'no-such-directory'), () =>
      ingestWrittenFile(layout, MediaType.ociLayerTar, async (path) => {
        written.push(path);
        await writeFile(path, bytes);
      }),
    );
    expect(desc).toEqual(expected);
    expect(written[0]!.startsWith(join(work, 'written', 'blobs', 'sha256', '.'))).toBe(true);
    expect(await readdir(join(work, 'written', 'blobs', 'sha256'))).toEqual([digestHex(expected.digest)]);
  });

  it('removes the file of a write that fails; abort then leaves the layout as it was', async () => {
    const layout = new OciLayout(join(work, 'written-failing'));
    await expect(
      ingestWrittenFile(layout, MediaType.ociLayerTar, async (path) => {
        await writeFile(path, bytes.subarray(0, 1000));
        throw new Error('the writer broke');
      }),
    ).rejects.toThrow(/writer broke/);
    expect(await readdir(join(work, 'written-failing', 'blobs', 'sha256'))).toEqual([]);
    await layout.abort();
    expect(await readdir(work)).not.toContain('written-failing');
  });

  it('streams the file into a target that takes no files, from a temporary directory it removes', async () => {
    const spoolDir = join(work, 'file-spool');
    await mkdir(spoolDir);
    const pushed: Descriptor[] = [];
    const layout = new OciLayout(join(work, 'file-fallback'));
    const desc = await withTmpdir(spoolDir, () =>
      ingestWrittenFile(pushOnly(layout, pushed), MediaType.ociLayerTar, (path) => writeFile(path, bytes)),
    );
    expect(desc).toEqual(expected);
    expect(pushed).toEqual([expected]);
    expect(await readdir(spoolDir)).toEqual([]);
  });
});
