import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Compressor, createCompressor } from './compressor.js';
import { DataWriter } from './data-writer.js';
import { storedBlocksHold } from './stored-blocks.js';
import { crc32Twin, pseudoRandom } from './testing/corpus.js';
import { tempDir } from './testing/peers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const BLOCK = 131072;

/** A zstd compressor that counts the blocks handed to it. */
function countingCompressor(): Compressor & { blocks: number } {
  const real = createCompressor('zstd', 10, BLOCK, 1);
  const counting = {
    ...real,
    blocks: 0,
    compressInPlace(block: Buffer, probe: boolean) {
      counting.blocks++;
      return real.compressInPlace(block, probe);
    },
  };
  return counting;
}

/** A writer over a new image file, with a counting compressor; both closed after `use`. */
async function withWriter(
  name: string,
  use: (writer: DataWriter, compressor: Compressor & { blocks: number }, fd: number) => Promise<void>,
): Promise<void> {
  const compressor = countingCompressor();
  const fd = openSync(join(tmp.dir, name), 'w+');
  try {
    await use(new DataWriter(fd, compressor, BLOCK, 1, 0), compressor, fd);
  } finally {
    compressor.close();
    closeSync(fd);
  }
}

describe('DataWriter', () => {
  it('never compresses a small file that turns out to be a copy, and stores it as the original', async () => {
    await withWriter('copies.img', async (writer, compressor) => {
      // Three blocks with a block of zeros between (stored as nothing), and a tail.
      const content = Buffer.concat([
        pseudoRandom(BLOCK, 1, true),
        Buffer.alloc(BLOCK),
        pseudoRandom(BLOCK + 99, 2),
      ]);
      const original = await writer.writeFile(content, content.length);
      expect(compressor.blocks).toBe(2);
      const copy = await writer.writeFile(Buffer.from(content), content.length);
      expect(copy).toBe(original);
      expect(compressor.blocks).toBe(2);
      expect(writer.duplicates).toBe(1);
      // Arriving in pieces changes nothing.
      const pieces = [content.subarray(0, 1000), content.subarray(1000, 300_000), content.subarray(300_000)];
      expect(await writer.writeFile(toAsync(pieces), content.length)).toBe(original);
      expect(compressor.blocks).toBe(2);

      // The same full blocks under another tail: those blocks are shared, the tail is its own.
      const otherTail = Buffer.concat([content.subarray(0, 3 * BLOCK), Buffer.from('another tail')]);
      const sharing = await writer.writeFile(otherTail, otherTail.length);
      expect(compressor.blocks).toBe(2);
      expect(sharing.blocksStart).toBe(original.blocksStart);
      expect([...sharing.blockSizes]).toEqual([...original.blockSizes]);
      await writer.finish();
    });
  });

  it('compresses a small file whose blocks only have the same checksum as stored ones', async () => {
    await withWriter('twins.img', async (writer, compressor, fd) => {
      const block = pseudoRandom(BLOCK, 11, true);
      const tail = Buffer.from('the same tail');
      const a = Buffer.concat([block, tail]);
      const b = Buffer.concat([crc32Twin(block), tail]);
      const first = await writer.writeFile(a, a.length);
      const twin = await writer.writeFile(b, b.length);
      expect(compressor.blocks).toBe(2);
      expect(twin).not.toBe(first);
      await writer.finish();
      expect(twin.blocksStart).not.toBe(first.blocksStart);
      // What each stored is its own block.
      expect(storedBlocksHold(fd, first, [block], compressor, BLOCK)).toBe(true);
      expect(storedBlocksHold(fd, twin, [b.subarray(0, BLOCK)], compressor, BLOCK)).toBe(true);
      expect(storedBlocksHold(fd, twin, [block], compressor, BLOCK)).toBe(false);
    });
  });

  it('tells when a file is settled while its last blocks are written, and fails those waiting if writing fails', async () => {
    await withWriter('settled.img', async (writer) => {
      const early = await writer.writeFile(pseudoRandom(100, 1, true), 100);
      const big = pseudoRandom(40 * BLOCK + 5, 2, true); // more than is held back: its blocks are queued
      const late = await writer.writeFile(big, big.length);
      const finished = writer.finish();
      expect(writer.settled(early)).toBeUndefined();
      const settled = writer.settled(late);
      expect(settled).toBeInstanceOf(Promise);
      expect(writer.furthestEnd()).toBeGreaterThanOrEqual(late.blocksStart + 40 * BLOCK);
      await settled;
      // Final now: where its blocks are, and each block's size.
      expect(late.blockSizes.length).toBe(40);
      expect([...late.blockSizes].every((size) => size > 0 && size < BLOCK)).toBe(true);
      await finished;
      expect(writer.settled(late)).toBeUndefined();
    });

    await withWriter('failing.img', async (writer, compressor) => {
      const big = pseudoRandom(40 * BLOCK, 3, true);
      const layout = await writer.writeFile(big, big.length);
      compressor.close(); // the workers are gone: the blocks still queued fail
      const finished = writer.finish();
      await expect(writer.settled(layout)).rejects.toThrow(/closed/);
      await expect(finished).rejects.toThrow(/closed/);
    });
  });
});

async function* toAsync(pieces: Buffer[]): AsyncGenerator<Buffer> {
  for (const piece of pieces) yield piece;
}
