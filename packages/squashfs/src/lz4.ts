import { compressBlock, compressBound } from 'lz4js';
import type { Codec } from './compressor.js';
import { SquashfsError } from './errors.js';
import { CompressorId } from './format.js';
import { decodeLz4Block } from './lz4-decode.js';

/** squashfs-tools' LZ4 options: format version 1 (the legacy block format), no high-compression flag. */
const LZ4_VERSION_LEGACY = 1;

/**
 * LZ4 through lz4js, a pure JavaScript codec (Node has no LZ4): raw LZ4 blocks as squashfs stores them.
 * It is much slower than gzip and zstd; it is here so images can be made and read in that format at all.
 */
export function lz4(level: number | undefined): Codec {
  if (level !== undefined) {
    throw new SquashfsError('BAD_OPTION', 'lz4 has no compression levels: leave the level unset');
  }
  const hashTable = new Uint32Array(1 << 16);
  const compressSync = (data: Uint8Array): Buffer => {
    if (data.byteLength < 32) return Buffer.from(data);
    hashTable.fill(0); // a fresh table per block keeps blocks independent of each other
    const out = Buffer.allocUnsafe(compressBound(data.byteLength));
    // lz4js lets a match start 9 bytes before the end; the LZ4 format (and unsquashfs) wants 12.
    // Compress all but the last bytes and add those as literals.
    const prefix = data.byteLength - TAIL_LITERALS;
    const n = compressBlock(data, out, 0, prefix, hashTable);
    // 0 means nothing matched: report "did not shrink" so the caller stores the block as is.
    if (n === 0) return Buffer.from(data);
    return appendLiterals(out.subarray(0, n), data.subarray(prefix));
  };
  return {
    name: 'lz4',
    id: CompressorId.lz4,
    level: 0,
    compressSync,
    decompress: decodeLz4Block,
    options() {
      // LZ4 images must always carry their options.
      const b = Buffer.alloc(8);
      b.writeUInt32LE(LZ4_VERSION_LEGACY, 0);
      b.writeUInt32LE(0, 4);
      return b;
    },
  };
}

const TAIL_LITERALS = 3;

/** Add bytes to the final literal run of an LZ4 block (the run that ends every block). */
function appendLiterals(block: Buffer, extra: Uint8Array): Buffer {
  // Walk the sequences to find where the last one starts.
  let p = 0;
  let last = 0;
  while (p < block.length) {
    last = p;
    const token = block[p++]!;
    let literals = token >> 4;
    if (literals === 15) {
      let b: number;
      do {
        b = block[p++]!;
        literals += b;
      } while (b === 255);
    }
    p += literals;
    if (p >= block.length) break;
    p += 2; // match offset
    if ((token & 15) === 15) {
      let b: number;
      do {
        b = block[p++]!;
      } while (b === 255);
    }
  }
  // Decode the last run's literals, then write the run again with the extra bytes.
  let q = last + 1;
  let count = block[last]! >> 4;
  if (count === 15) {
    let b: number;
    do {
      b = block[q++]!;
      count += b;
    } while (b === 255);
  }
  const literals = Buffer.concat([block.subarray(q, q + count), extra]);
  const header: number[] = [];
  let total = literals.length;
  if (total >= 15) {
    header.push(15 << 4);
    for (total -= 15; total >= 255; total -= 255) header.push(255);
    header.push(total);
  } else {
    header.push(total << 4);
  }
  return Buffer.concat([block.subarray(0, last), Buffer.from(header), literals]);
}

/** Check the options block of an LZ4 image: only the legacy format is defined. */
export function lz4ForImage(options: Buffer | undefined, path?: string): Codec {
  if (options && options.length >= 4 && options.readUInt32LE(0) !== LZ4_VERSION_LEGACY) {
    throw new SquashfsError(
      'UNKNOWN_COMPRESSOR',
      `image uses lz4 format version ${options.readUInt32LE(0)}`,
      path,
    );
  }
  return lz4(undefined);
}
