import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BackgroundWrites } from './background-writes.js';
import { pseudoRandom } from './testing/corpus.js';
import { tempDir } from './testing/peers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('BackgroundWrites', () => {
  it('puts every chunk at its position, however many are under way, and says when each is written', async () => {
    const path = join(tmp.dir, 'out');
    const fd = openSync(path, 'w');
    const writes = new BackgroundWrites(fd, 3);
    const chunks = Array.from({ length: 20 }, (_, i) => pseudoRandom(1000 + i * 37, i + 1));
    const written: number[] = [];
    let position = 0;
    const positions = chunks.map((c) => {
      const at = position;
      position += c.length;
      return at;
    });
    // Submitted back to front: each lands at its own offset, not after the previous one.
    for (let i = chunks.length - 1; i >= 0; i--)
      await writes.add(chunks[i]!, positions[i]!, () => written.push(i));
    await writes.settle();
    closeSync(fd);
    expect(readFileSync(path).equals(Buffer.concat(chunks))).toBe(true);
    expect(written.sort((a, b) => a - b)).toEqual(chunks.map((_, i) => i));
  });

  it('gathers pieces that continue one another into writes of up to a megabyte, the last one at settle', async () => {
    const path = join(tmp.dir, 'gathered');
    const fd = openSync(path, 'w');
    const writes = new BackgroundWrites(fd, 2);
    // 3 MiB in pieces of 100,000 bytes, then a piece elsewhere: more than one batch, and a jump.
    const pieces = Array.from({ length: 32 }, (_, i) => pseudoRandom(100_000, i + 7));
    const written = new Set<number>();
    for (const [i, piece] of pieces.entries()) await writes.add(piece, i * 100_000, () => written.add(i));
    const far = pseudoRandom(5000, 99);
    await writes.add(far, 4_000_000, () => written.add(-1));
    // The piece after the jump waits for whatever may continue it.
    expect(written.has(-1)).toBe(false);
    await writes.settle();
    closeSync(fd);
    expect(written.size).toBe(33);
    const image = readFileSync(path);
    expect(image.subarray(0, 3_200_000).equals(Buffer.concat(pieces))).toBe(true);
    expect(image.subarray(4_000_000).equals(far)).toBe(true);
  });

  it('reports a write that fails, and refuses more after it', async () => {
    const path = join(tmp.dir, 'read-only');
    writeFileSync(path, '');
    const fd = openSync(path, 'r');
    const writes = new BackgroundWrites(fd, 4);
    await writes.add(Buffer.from('data'), 0);
    await expect(writes.settle()).rejects.toThrow(/EBADF/);
    await expect(writes.add(Buffer.from('more'), 4)).rejects.toThrow(/EBADF/);
    closeSync(fd);
  });
});
