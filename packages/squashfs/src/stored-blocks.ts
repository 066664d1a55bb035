import { readSync } from 'node:fs';
import type { Codec } from './compressor.js';
import type { FileLayout } from './file-layout.js';
import { DATA_UNCOMPRESSED } from './format.js';

const CHUNK = 1 << 20;

/**
 * Whether the first `count` data blocks of two files are stored as the same bytes, read back from the
 * image. Blocks are compressed the same way whoever holds them, so the same stored bytes mean the same
 * content: this settles what a checksum match only suggests.
 */
export function sameStoredBlocks(fd: number, a: FileLayout, b: FileLayout, count: number): boolean {
  let length = 0;
  for (let i = 0; i < count; i++) {
    if (a.blockSizes[i] !== b.blockSizes[i]) return false;
    length += a.blockSizes[i]! & ~DATA_UNCOMPRESSED;
  }
  if (a.blocksStart === b.blocksStart) return true;
  const left = Buffer.allocUnsafe(Math.min(CHUNK, length));
  const right = Buffer.allocUnsafe(left.length);
  for (let done = 0; done < length; ) {
    const n = Math.min(left.length, length - done);
    readFully(fd, left.subarray(0, n), a.blocksStart + done);
    readFully(fd, right.subarray(0, n), b.blocksStart + done);
    if (!left.subarray(0, n).equals(right.subarray(0, n))) return false;
    done += n;
  }
  return true;
}

/**
 * Whether the first data blocks stored for a file hold `blocks` (undefined: a block of zeros, which is
 * stored as nothing): each read back from the image and decompressed, for a file not yet compressed.
 */
export function storedBlocksHold(
  fd: number,
  stored: FileLayout,
  blocks: readonly (Buffer | undefined)[],
  codec: Codec,
  blockSize: number,
): boolean {
  let at = stored.blocksStart;
  for (let i = 0; i < blocks.length; i++) {
    const field = stored.blockSizes[i]!;
    const block = blocks[i];
    if (field === 0 || block === undefined) {
      if (field !== 0 || block !== undefined) return false;
      continue;
    }
    const length = field & ~DATA_UNCOMPRESSED;
    const bytes = Buffer.allocUnsafe(length);
    readFully(fd, bytes, at);
    at += length;
    const raw = field & DATA_UNCOMPRESSED ? bytes : codec.decompress(bytes, blockSize);
    if (!raw.equals(block)) return false;
  }
  return true;
}

function readFully(fd: number, into: Buffer, position: number): void {
  for (let done = 0; done < into.length; ) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0)
      throw new Error(`the image ends before ${position + into.length}: it was truncated meanwhile`);
    done += n;
  }
}
