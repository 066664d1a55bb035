import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { createSquashfs, decompressedTar, formatEntry, openSquashfs, SquashfsError } from './index.js';
import { featuresTar } from './testing/corpus.js';
import { listing, tempDir } from './testing/peers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('what the CLI builds on', () => {
  it('decompressedTar recognises plain, gzip and zstd tars by their magic bytes', async () => {
    const tar = await featuresTar();
    const images: Buffer[] = [];
    for (const [name, bytes] of [
      ['plain', tar],
      ['gzip', gzipSync(tar)],
      ['zstd', zstdCompressSync(tar)],
    ] as const) {
      const out = join(tmp.dir, `${name}.sqfs`);
      // Split the input oddly so the magic straddles chunks.
      await createSquashfs(
        decompressedTar([bytes.subarray(0, 1), bytes.subarray(1, 3), bytes.subarray(3)]),
        out,
      );
      images.push(readFileSync(out));
    }
    expect(images[1]!.equals(images[0]!)).toBe(true);
    expect(images[2]!.equals(images[0]!)).toBe(true);
  });

  it('decompressedTar reports broken compressed input as TAR_CORRUPT', async () => {
    const broken = gzipSync(await featuresTar()).subarray(0, 5000);
    const err = await createSquashfs(decompressedTar([broken]), join(tmp.dir, 'broken.sqfs')).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SquashfsError);
    expect((err as SquashfsError).code).toBe('TAR_CORRUPT');
    expect((err as SquashfsError).message).toBe(
      'compressed tar input does not decompress: unexpected end of file',
    );
    expect(existsSync(join(tmp.dir, 'broken.sqfs'))).toBe(false);
  });

  it('formatEntry lists like unsquashfs -lln', async () => {
    process.env.TZ = 'UTC';
    const image = join(tmp.dir, 'ls.sqfs');
    writeFileSync(join(tmp.dir, 'ls.tar'), await featuresTar());
    await createSquashfs([readFileSync(join(tmp.dir, 'ls.tar'))], image);
    const r = await openSquashfs(image);
    const ours = r.list().map((e) => formatEntry(e).replace(/\s+/g, ' '));
    r.close();
    const ref = (await listing(image)).map((l) => l.replace(/, /, ','));
    // unsquashfs prints no path for the root and no directory sizes we could compare; the rest must match.
    const strip = (l: string) => l.replace(/^(d\S+ \S+) \d+ /, '$1 - ').replace(/ \/$/, ' ');
    expect(ours.map(strip)).toEqual(ref.map(strip));
  });
});
