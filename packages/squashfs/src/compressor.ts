import zlib from 'node:zlib';
import { type BlockCompressor, contextPerBlock, inPlaceCompressor, placeInto } from './block-context.js';
import { CompressionPool } from './compression-pool.js';
import { decompressBlock, SquashfsError } from './errors.js';
import { CompressorId, DEFAULT_BLOCK_SIZE } from './format.js';
import { lz4, lz4ForImage } from './lz4.js';
import { XZ_DEFAULT_LEVEL, xz, xzForImage } from './xz.js';

export type CompressorName = 'gzip' | 'zstd' | 'xz' | 'lz4';

/** A squashfs block codec as one thread uses it; readers need no more. */
export interface Codec {
  readonly name: CompressorName;
  readonly id: number;
  readonly level: number;
  compressSync(data: Uint8Array): Buffer;
  /** Where the library has an asynchronous path of its own (xz), the compression workers take it. */
  compressAsync?(data: Uint8Array): Promise<Buffer>;
  /** Where the codec can compress straight into a buffer through a native context, the workers take that. */
  compressIntoSync?: BlockCompressor;
  /** Throws a CORRUPT_IMAGE SquashfsError if the data is not valid or inflates beyond maxSize. */
  decompress(data: Uint8Array, maxSize: number): Buffer;
  /** The compressor options payload to store after the superblock, or undefined when all options are default. */
  options(): Buffer | undefined;
  /** Release threads or contexts the codec keeps. */
  close?(): void;
}

/** A writer's compressor: a codec whose data blocks compress on worker threads, in parallel. */
export interface Compressor extends Codec {
  /**
   * Compress `block` in place (it is over a SharedArrayBuffer, which the workers read and write): the
   * compressed length, its bytes now at the start of `block`, or -1 when compression would not shrink
   * it, the block left as it was. `probe`: the block is not the first of its file; a sample of it shows
   * cheaply whether it is worth compressing.
   */
  compressInPlace(block: Buffer, probe: boolean): Promise<number>;
  /**
   * Every block handed over so far goes to the workers now, not as they ask for more: for a caller about
   * to keep its thread busy (a worker is fed from that thread).
   */
  sendAll(): void;
  close(): void;
}

const GZIP_DEFAULT_LEVEL = 9;
const GZIP_DEFAULT_WINDOW = 15;
/**
 * Node's zlib (Chromium's) hashes differently from the zlib squashfs-tools link: at its default memLevel 8
 * its 128 KiB blocks come out 1% larger; at 6 they are within 0.6% of squashfs-tools' (bench:squashfs).
 * memLevel is the encoder's alone: the stream and the image options are the same.
 */
const GZIP_MEM_LEVEL = 6;
/** squashfs-tools' default zstd level, implied when no options block is present. */
const ZSTD_DEFAULT_LEVEL = 15;

function gzip(level: number): Codec {
  if (!Number.isInteger(level) || level < 1 || level > 9) {
    throw new SquashfsError('BAD_OPTION', `gzip level must be an integer from 1 to 9, got ${level}`);
  }
  const opts = { level, windowBits: GZIP_DEFAULT_WINDOW, memLevel: GZIP_MEM_LEVEL };
  const compressSync = (data: Uint8Array) => zlib.deflateSync(data, opts);
  return {
    name: 'gzip',
    id: CompressorId.gzip,
    level,
    compressSync,
    // A context per block, not one reused: the image would depend on which block a thread did before.
    compressIntoSync: contextPerBlock(() => zlib.createDeflate(opts), zlib.constants.Z_FINISH, compressSync),
    decompress: decompressBlock('a gzip block', zlib.inflateSync),
    options() {
      if (level === GZIP_DEFAULT_LEVEL) return undefined;
      const b = Buffer.alloc(8);
      b.writeUInt32LE(level, 0);
      b.writeUInt16LE(GZIP_DEFAULT_WINDOW, 4);
      b.writeUInt16LE(0, 6);
      return b;
    },
  };
}

function zstd(level: number): Codec {
  if (!Number.isInteger(level) || level < 1 || level > 22) {
    throw new SquashfsError('BAD_OPTION', `zstd level must be an integer from 1 to 22, got ${level}`);
  }
  const params = { [zlib.constants.ZSTD_c_compressionLevel]: level };
  // Told the input size, zstd sizes its window and tables to the block, as squashfs-tools' one-shot call.
  const compressSync = (data: Uint8Array) =>
    zlib.zstdCompressSync(data, { params, pledgedSrcSize: data.byteLength });
  return {
    name: 'zstd',
    id: CompressorId.zstd,
    level,
    compressSync,
    // A whole block ended in one call: zstd sizes its tables to it, as it does when told the size.
    compressIntoSync: inPlaceCompressor(
      () => zlib.createZstdCompress({ params }),
      zlib.constants.ZSTD_e_end,
      compressSync,
    ),
    decompress: decompressBlock('a zstd block', zlib.zstdDecompressSync),
    options() {
      if (level === ZSTD_DEFAULT_LEVEL) return undefined;
      const b = Buffer.alloc(4);
      b.writeUInt32LE(level, 0);
      return b;
    },
  };
}

const NAMES: Record<number, CompressorName | 'lzma' | 'lzo'> = {
  1: 'gzip',
  2: 'lzma',
  3: 'lzo',
  4: 'xz',
  5: 'lz4',
  6: 'zstd',
};

/** The codec of a compressor name; `level` undefined means the squashfs-tools default. */
export function createCodec(name: string, level: number | undefined, blockSize = DEFAULT_BLOCK_SIZE): Codec {
  switch (name) {
    case 'gzip':
      return gzip(level ?? GZIP_DEFAULT_LEVEL);
    case 'zstd':
      return zstd(level ?? ZSTD_DEFAULT_LEVEL);
    case 'lz4':
      return lz4(level);
    case 'xz':
      return xz(level ?? XZ_DEFAULT_LEVEL, blockSize);
    default:
      throw new SquashfsError(
        'UNKNOWN_COMPRESSOR',
        `unknown compressor "${name}": use gzip, zstd, xz or lz4`,
      );
  }
}

/** Build the compressor for a writer: `concurrency` worker threads compress its data blocks. */
export function createCompressor(
  name: string,
  level: number | undefined,
  blockSize: number,
  concurrency: number,
): Compressor {
  const codec = createCodec(name, level, blockSize);
  const pool = CompressionPool.start({ name, level, blockSize }, concurrency);
  return {
    ...codec,
    compressInPlace: pool
      ? (block, probe) => pool.compressInPlace(block, probe)
      : (block, probe) => compressHere(codec, block, probe),
    sendAll() {
      pool?.sendAll();
    },
    close() {
      pool?.close();
      codec.close?.();
    },
  };
}

const ZSTD_FASTEST = { params: { [zlib.constants.ZSTD_c_compressionLevel]: 1 } };
const quickProbe = inPlaceCompressor(
  () => zlib.createZstdCompress(ZSTD_FASTEST),
  zlib.constants.ZSTD_e_end,
  (data) => zlib.zstdCompressSync(data, ZSTD_FASTEST),
);

/** Where the probe's output goes: only whether it shrank matters, and the block must stay as it is. */
let probeOut = Buffer.alloc(0);
/** The part of a block tried first at zstd's fastest level: a sample that shrinks clears the block. */
const SAMPLE = 4096;

/** Whether zstd's fastest level leaves `data` as big as it is. */
function doesNotShrink(data: Uint8Array): boolean {
  if (probeOut.length < data.byteLength) probeOut = Buffer.allocUnsafe(data.byteLength);
  return quickProbe(data, probeOut) < 0;
}

/**
 * The work of one block, on whichever thread runs it: compressed in place, or -1 if it would not shrink.
 * `probe`: the block is not the first of its file, and is checked cheaply first (a file's first block,
 * and fragment blocks, always get the real level).
 */
export async function compressHere(codec: Codec, block: Uint8Array, probe: boolean): Promise<number> {
  if (notWorthIt(block, probe)) return -1;
  if (codec.compressIntoSync) return codec.compressIntoSync(block, block);
  const packed = codec.compressAsync ? await codec.compressAsync(block) : codec.compressSync(block);
  return placeInto(packed, block, block);
}

/**
 * compressHere for a codec without an asynchronous path, answered at once: no promise per block for
 * the ten thousands a layer has. undefined for a codec with one (xz).
 */
export function compressHereSync(codec: Codec, block: Uint8Array, probe: boolean): number | undefined {
  if (codec.compressAsync) return undefined;
  if (notWorthIt(block, probe)) return -1;
  if (codec.compressIntoSync) return codec.compressIntoSync(block, block);
  return placeInto(codec.compressSync(block), block, block);
}

/**
 * Data that zstd's fastest level cannot shrink at all (compressed or encrypted files) is not worth the
 * real level's time: a twentieth of the work, and the block is stored as is either way. A sample of the
 * block picks the blocks worth that check. Decided from the block and its place alone, so the image is
 * the same whichever blocks the workers happen to finish first.
 */
function notWorthIt(block: Uint8Array, probe: boolean): boolean {
  if (!probe) return false;
  const sample = block.subarray(0, SAMPLE);
  return doesNotShrink(sample) && (sample.byteLength === block.byteLength || doesNotShrink(block));
}

/** Build the compressor for a reader from the superblock id and the options block, if any. */
export function compressorForImage(
  id: number,
  options: Buffer | undefined,
  blockSize: number,
  path?: string,
): Codec {
  const name = NAMES[id];
  if (name === undefined) {
    throw new SquashfsError('UNKNOWN_COMPRESSOR', `image uses unknown compressor id ${id}`, path);
  }
  if (name === 'gzip') return gzip(options && options.length >= 4 ? clamp(options.readUInt32LE(0), 1, 9) : 9);
  if (name === 'zstd') {
    return zstd(options && options.length >= 4 ? clamp(options.readUInt32LE(0), 1, 22) : ZSTD_DEFAULT_LEVEL);
  }
  if (name === 'lz4') return lz4ForImage(options, path);
  if (name === 'xz') return xzForImage(options, blockSize, path);
  throw new SquashfsError(
    'COMPRESSOR_UNAVAILABLE',
    `compressor ${name} is not available: this image can only be read with squashfs-tools`,
    path,
  );
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
