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
  it('compresses blocks in place in shared memory on its workers, answering each in the order asked', async () => {
    const pool = CompressionPool.start({ name: 'zstd', level: 10, blockSize: 131072 }, 2)!;
    expect(pool).toBeDefined();
    const originals = [0, 1, 2, 3, 4, 5].map((i) => pseudoRandom(131072, i + 1, i % 2 === 0));
    const blocks = originals.map(sharedCopy);
    const lengths = await Promise.all(blocks.map((b, i) => pool.compressInPlace(b, i === 3)));
    pool.close();
    lengths.forEach((length, i) => {
      if (i % 2 === 0) {
        // Six letters: compressed, and the bytes now starting the block decompress to what it held.
        expect(length).toBeGreaterThan(0);
        expect(length).toBeLessThan(131072);
        expect(zstdDecompressSync(blocks[i]!.subarray(0, length)).equals(originals[i]!)).toBe(true);
      } else {
        // Random, probed first or not: stored as is, the block untouched.
        expect(length).toBe(-1);
        expect(blocks[i]!.equals(originals[i]!)).toBe(true);
      }
    });
  });

  it('compresses at the real level a probed block whose start does not shrink but whose whole does', async () => {
    const pool = CompressionPool.start({ name: 'zstd', level: 10, blockSize: 131072 }, 1)!;
    // A random first 4 KiB (the sample tried first), then six letters.
    const original = Buffer.concat([pseudoRandom(4096, 7), pseudoRandom(131072 - 4096, 8, true)]);
    const block = sharedCopy(original);
    const length = await pool.compressInPlace(block, true);
    pool.close();
    expect(length).toBeGreaterThan(0);
    expect(length).toBeLessThan(131072 / 2);
    expect(zstdDecompressSync(block.subarray(0, length)).equals(original)).toBe(true);
  });

  it('sends every waiting block on sendAll, so the workers get through them while this thread is busy', async () => {
    // One worker is handed eight blocks at a time: the last four of twelve go to it on sendAll alone.
    const pool = CompressionPool.start({ name: 'zstd', level: 10, blockSize: 131072 }, 1)!;
    const blocks = Array.from({ length: 12 }, (_, i) => sharedCopy(pseudoRandom(131072, i + 1, true)));
    const answers = blocks.map((b) => pool.compressInPlace(b, false));
    pool.sendAll();
    // This thread never yields below: only blocks already sent to a worker can be compressed meanwhile.
    // A zstd frame then starts each block, in place.
    const ZSTD_MAGIC = 0xfd2fb528;
    const compressed = () => blocks.filter((b) => b.readUInt32LE(0) === ZSTD_MAGIC).length;
    const pause = new Int32Array(new SharedArrayBuffer(4));
    const giveUp = Date.now() + 20_000;
    while (compressed() < blocks.length && Date.now() < giveUp) Atomics.wait(pause, 0, 0, 5);
    expect(compressed()).toBe(blocks.length);
    await Promise.all(answers);
    pool.close();
  });

  it('fails the blocks not answered yet when it is closed, instead of leaving them waiting', async () => {
    const pool = CompressionPool.start({ name: 'zstd', level: 10, blockSize: 131072 }, 1)!;
    const answers = [1, 2, 3, 4, 5, 6].map((i) =>
      pool.compressInPlace(sharedCopy(pseudoRandom(131072, i, true)), false),
    );
    pool.close();
    const settled = await Promise.allSettled(answers);
    expect(settled.every((s) => s.status === 'rejected' && /closed/.test(String(s.reason)))).toBe(true);
  });

  it('fails every block with the reason when its workers cannot start, instead of hanging', async () => {
    const pool = CompressionPool.start({ name: 'no-such-codec', level: undefined, blockSize: 131072 }, 1)!;
    const block = sharedCopy(pseudoRandom(4096, 1, true));
    await expect(pool.compressInPlace(block, false)).rejects.toThrow(/unknown compressor "no-such-codec"/);
    // And every block after it, at once, with the same reason.
    await expect(pool.compressInPlace(block, false)).rejects.toThrow(/unknown compressor "no-such-codec"/);
  });

  it('refuses blocks that are not shared memory (a worker could not see them)', async () => {
    const pool = CompressionPool.start({ name: 'gzip', level: 9, blockSize: 131072 }, 1)!;
    await expect(pool.compressInPlace(Buffer.alloc(16), false)).rejects.toThrow(/SharedArrayBuffer/);
    pool.close();
  });
});
