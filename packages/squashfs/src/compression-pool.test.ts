import { zstdDecompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CompressionPool } from './compression-pool.js';
import { pseudoRandom } from './testing/corpus.js';

function sharedCopy(data: Uint8Array): Buffer {
  const b = Buffer.from(new SharedArrayBuffer(data.byteLength));
  b.set(data);
  return b;
}

describe('CompressionPool', () => {
  it('compresses blocks in shared memory on its workers, answering each in the order asked', async () => {
    const pool = CompressionPool.start({ name: 'zstd', level: 10, blockSize: 131072 }, 2)!;
    expect(pool).toBeDefined();
    const blocks = [0, 1, 2, 3, 4, 5].map((i) => sharedCopy(pseudoRandom(131072, i + 1, i % 2 === 0)));
    const outs = blocks.map(() => Buffer.from(new SharedArrayBuffer(131072)));
    const lengths = await Promise.all(blocks.map((b, i) => pool.compressInto(b, outs[i]!, false)));
    pool.close();
    lengths.forEach((length, i) => {
      if (i % 2 === 0) {
        // Six letters: compressed, and the bytes in `out` decompress to the block.
        expect(length).toBeGreaterThan(0);
        expect(length).toBeLessThan(131072);
        expect(zstdDecompressSync(outs[i]!.subarray(0, length)).equals(blocks[i]!)).toBe(true);
      } else {
        expect(length).toBe(-1); // random: stored as is
      }
    });
  });

  it('fails every block with the reason when its workers cannot start, instead of hanging', async () => {
    const pool = CompressionPool.start({ name: 'no-such-codec', level: undefined, blockSize: 131072 }, 1)!;
    const block = sharedCopy(pseudoRandom(4096, 1, true));
    await expect(pool.compressInto(block, Buffer.from(new SharedArrayBuffer(4096)), false)).rejects.toThrow(
      /unknown compressor "no-such-codec"/,
    );
    await expect(pool.compressInto(block, Buffer.from(new SharedArrayBuffer(4096)), false)).rejects.toThrow();
  });

  it('refuses blocks that are not shared memory (a worker could not see them)', async () => {
    const pool = CompressionPool.start({ name: 'gzip', level: 9, blockSize: 131072 }, 1)!;
    await expect(pool.compressInto(Buffer.alloc(16), Buffer.alloc(16), false)).rejects.toThrow(
      /SharedArrayBuffer/,
    );
    pool.close();
  });
});
