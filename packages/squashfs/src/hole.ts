/**
 * The zeros that the holes of a sparse file read as. The image writer knows them by their memory and
 * skips them without copying or looking: a sparse file of a terabyte (/var/log/lastlog becomes one
 * when a user has a large uid) is hole almost throughout. Never written: pages of zeros the system
 * has not even had to map.
 */
const HOLE = Buffer.alloc(16 << 20);

/** Chunks of hole making up `n` bytes. */
export function* holeChunks(n: number): Generator<Buffer> {
  for (let left = n; left > 0; left -= HOLE.length) yield HOLE.subarray(0, Math.min(left, HOLE.length));
}

export function isHole(chunk: Uint8Array): boolean {
  return chunk.buffer === HOLE.buffer;
}
