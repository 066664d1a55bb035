import { zstdDecompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createCompressor } from './compressor.js';
import { METADATA_SIZE, METADATA_UNCOMPRESSED } from './format.js';
import { LinkedTable, LinkedTablesCompression } from './linked-tables.js';
import { pseudoRandom } from './testing/corpus.js';

/** The blocks of a compressed table: where each starts, and its bytes uncompressed. */
function blocksOf(table: Buffer): { start: number; raw: Buffer }[] {
  const out: { start: number; raw: Buffer }[] = [];
  for (let at = 0; at < table.length; ) {
    const header = table.readUInt16LE(at);
    const length = header & ~METADATA_UNCOMPRESSED;
    const body = table.subarray(at + 2, at + 2 + length);
    out.push({ start: at, raw: header & METADATA_UNCOMPRESSED ? body : zstdDecompressSync(body) });
    at += 2 + length;
  }
  return out;
}

describe('LinkedTable', () => {
  it('fills in where the blocks of two tables pointing at each other start once compressed, across block edges', async () => {
    const compressor = createCompressor('zstd', 10, 131072, 2);
    const a = new LinkedTable();
    const b = new LinkedTable();
    const compression = new LinkedTablesCompression(compressor, [a, b]);
    // Each table points at the block the other is writing, one place of four bytes every 1000 bytes,
    // some of them across a block edge; compressible and random stretches give blocks of all sizes.
    const patches: { from: LinkedTable; at: number; to: LinkedTable; block: number }[] = [];
    for (let i = 0; i < 60; i++) {
      for (const [from, to] of [
        [a, b],
        [b, a],
      ] as const) {
        // Every fifth place straddles a block edge: two bytes in one block, two in the next.
        const lead = i % 5 === 4 ? METADATA_SIZE + 8190 - (from.uncompressedPosition % METADATA_SIZE) : 500;
        const at = from.uncompressedPosition + lead;
        from.write(pseudoRandom(lead, i + 1, i % 3 !== 0));
        from.pointAt(at, to, to.blockIndex);
        patches.push({ from, at, to, block: to.blockIndex });
        from.write(Buffer.alloc(4));
      }
      if (i % 10 === 0) compression.pump();
    }
    expect(
      patches.some((p) => Math.floor(p.at / METADATA_SIZE) !== Math.floor((p.at + 3) / METADATA_SIZE)),
    ).toBe(true);
    await compression.finish();
    compressor.close();

    const blocks = new Map([a, b].map((t) => [t, blocksOf(t.bytes())]));
    const uncompressed = new Map([...blocks].map(([t, list]) => [t, Buffer.concat(list.map((x) => x.raw))]));
    for (const p of patches) {
      const start = blocks.get(p.to)![p.block]!.start;
      expect(uncompressed.get(p.from)!.readUInt32LE(p.at)).toBe(start);
      expect(p.to.resolve(p.block * 0x10000 + 17)).toBe(start * 0x10000 + 17);
    }
  });

  it('holds back a block with a place written for now until it is filled, across a block edge', async () => {
    const real = createCompressor('zstd', 10, 131072, 1);
    // Blocks are handed over synchronously in pump: what was handed over is known at once.
    const handedOver: number[] = [];
    const compressor = {
      ...real,
      compressInPlace: (block: Buffer, probe: boolean) => {
        handedOver.push(block.length);
        return real.compressInPlace(block, probe);
      },
    };
    const table = new LinkedTable();
    const compression = new LinkedTablesCompression(compressor, [table]);
    table.write(pseudoRandom(METADATA_SIZE - 10, 1, true));
    // Twenty bytes for now: the last ten of the first block and the first ten of the second.
    const at = table.writeLater(Buffer.alloc(20));
    table.write(pseudoRandom(3 * METADATA_SIZE, 2, true));
    compression.pump();
    expect(handedOver).toEqual([]); // the first block waits, and every block after it
    expect(() => table.fill(at, Buffer.alloc(19))).toThrow(/no place of 19 bytes/);
    const bytes = pseudoRandom(20, 3);
    table.fill(at, bytes);
    compression.pump();
    expect(handedOver).toEqual([METADATA_SIZE, METADATA_SIZE, METADATA_SIZE, METADATA_SIZE]); // the full ones
    await compression.finish();
    expect(handedOver).toHaveLength(5); // and the last, partial one
    real.close();
    const raw = Buffer.concat(blocksOf(table.bytes()).map((x) => x.raw));
    expect(raw.subarray(at, at + 20).equals(bytes)).toBe(true);
  });

  it('finds a table that never gets a place filled unfinished, instead of waiting for ever', async () => {
    const compressor = createCompressor('zstd', 10, 131072, 1);
    const table = new LinkedTable();
    const compression = new LinkedTablesCompression(compressor, [table]);
    table.write(Buffer.alloc(100));
    table.writeLater(Buffer.alloc(8));
    await expect(compression.finish()).rejects.toThrow(/left blocks uncompressed/);
    compressor.close();
  });
});
