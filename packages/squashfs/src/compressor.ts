import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { decompressBlock, SquashfsError } from './errors.js';
import { CompressorId, DEFAULT_BLOCK_SIZE } from './format.js';
import { lz4, lz4ForImage } from './lz4.js';
import { XZ_DEFAULT_LEVEL, xz, xzForImage } from './xz.js';

export type CompressorName = 'gzip' | 'zstd' | 'xz' | 'lz4';

/** A squashfs block compressor. Async calls run on the libuv thread pool, so blocks compress in parallel. */
export interface Compressor {
  readonly name: CompressorName;
  readonly id: number;
  readonly level: number;
  compress(data: Uint8Array): Promise<Buffer>;
  compressSync(data: Uint8Array): Buffer;
  /** Throws a CORRUPT_IMAGE SquashfsError if the data is not valid or inflates beyond maxSize. */
  decompress(data: Uint8Array, maxSize: number): Buffer;
  /** The compressor options payload to store after the superblock, or undefined when all options are default. */
  options(): Buffer | undefined;
  /** Release native compression contexts kept between blocks. */
  close(): void;
}

const deflate = promisify(zlib.deflate);
const zstdCompress = promisify(zlib.zstdCompress);

/**
 * zstd's own parameters for inputs of at most 128 KiB, per level, for the configurations concil uses.
 * With these a long-lived stream makes the same frames as a one-shot call told the input size, without
 * building a new context per block (about a fifth of zstd's CPU time on 128 KiB blocks).
 */
const ZSTD_128K_PARAMS: Record<number, [number, number, number, number, number, number, number]> = {
  // windowLog, chainLog, hashLog, searchLog, minMatch, targetLength, strategy (5 = lazy2)
  10: [17, 16, 17, 6, 4, 8, 5],
};

/**
 * zlib's default 16 KiB output chunks make a block that compresses badly cross between the thread pool
 * and the main thread eight times; one chunk as large as the block (plus the codec's worst-case overhead)
 * makes it once.
 */
function outputChunk(data: Uint8Array): number {
  return data.byteLength + (data.byteLength >> 6) + 1024;
}
const OUTPUT_CHUNK = outputChunk(new Uint8Array(131072));

/**
 * A few long-lived zstd streams fed from one queue: a block goes to the first idle stream, in order,
 * so no stream idles while another has a backlog. Each block is ended as its own frame (ZSTD_e_end),
 * so frames stay independent while the native context is reused.
 */
class ZstdStreams {
  private readonly streams: zlib.ZstdCompress[] = [];
  private readonly idle: zlib.ZstdCompress[] = [];
  private readonly waiting: { data: Uint8Array; resolve(b: Buffer): void; reject(e: unknown): void }[] = [];

  constructor(params: Record<number, number>, count: number) {
    for (let i = 0; i < count; i++) {
      const stream = zlib.createZstdCompress({ params, chunkSize: OUTPUT_CHUNK });
      stream.on('error', () => {}); // reported through the pending block's promise
      this.streams.push(stream);
      this.idle.push(stream);
    }
  }

  compress(data: Uint8Array): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ data, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.waiting.length > 0) {
      const stream = this.idle.pop()!;
      const job = this.waiting.shift()!;
      const parts: Buffer[] = [];
      const onData = (chunk: Buffer) => parts.push(chunk);
      const done = (err?: Error) => {
        stream.off('data', onData);
        stream.off('error', done);
        if (err) {
          // A broken stream cannot be trusted again: fail this block and everything still waiting.
          job.reject(err);
          for (const w of this.waiting.splice(0)) w.reject(err);
          return;
        }
        job.resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
        this.idle.push(stream);
        this.dispatch();
      };
      stream.on('data', onData);
      stream.once('error', done);
      stream.write(job.data);
      stream.flush(zlib.constants.ZSTD_e_end, () => done());
    }
  }

  close(): void {
    for (const stream of this.streams) stream.destroy();
  }
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

function gzip(level: number): Compressor {
  if (!Number.isInteger(level) || level < 1 || level > 9) {
    throw new SquashfsError('BAD_OPTION', `gzip level must be an integer from 1 to 9, got ${level}`);
  }
  const opts = { level, windowBits: GZIP_DEFAULT_WINDOW, memLevel: GZIP_MEM_LEVEL };
  return {
    name: 'gzip',
    id: CompressorId.gzip,
    level,
    compress: (data) => deflate(data, { ...opts, chunkSize: outputChunk(data) }),
    compressSync: (data) => zlib.deflateSync(data, opts),
    close() {},
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

function zstd(level: number, blockSize?: number, streamCount = 2): Compressor {
  if (!Number.isInteger(level) || level < 1 || level > 22) {
    throw new SquashfsError('BAD_OPTION', `zstd level must be an integer from 1 to 22, got ${level}`);
  }
  const params = { [zlib.constants.ZSTD_c_compressionLevel]: level };
  const known = blockSize === 131072 ? ZSTD_128K_PARAMS[level] : undefined;
  const C = zlib.constants;
  const streams = known
    ? new ZstdStreams(
        {
          ...params,
          [C.ZSTD_c_windowLog]: known[0],
          [C.ZSTD_c_chainLog]: known[1],
          [C.ZSTD_c_hashLog]: known[2],
          [C.ZSTD_c_searchLog]: known[3],
          [C.ZSTD_c_minMatch]: known[4],
          [C.ZSTD_c_targetLength]: known[5],
          [C.ZSTD_c_strategy]: known[6],
        },
        streamCount,
      )
    : undefined;
  return {
    name: 'zstd',
    id: CompressorId.zstd,
    level,
    // Telling zstd the input size lets it size its window and tables to the block: much faster setup.
    compress: (data) =>
      streams
        ? streams.compress(data)
        : zstdCompress(data, { params, pledgedSrcSize: data.byteLength, chunkSize: outputChunk(data) }),
    close: () => streams?.close(),
    compressSync: (data) => zlib.zstdCompressSync(data, { params, pledgedSrcSize: data.byteLength }),
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

/** Build the compressor for a writer. `level` undefined means the squashfs-tools default. */
export function createCompressor(
  name: string,
  level?: number,
  blockSize?: number,
  concurrency?: number,
): Compressor {
  switch (name) {
    case 'gzip':
      return gzip(level ?? GZIP_DEFAULT_LEVEL);
    case 'zstd':
      // Two streams per core: while one waits for the main thread to collect its frame the other works.
      return zstd(level ?? ZSTD_DEFAULT_LEVEL, blockSize, Math.max(2, 2 * (concurrency ?? 2)));
    case 'lz4':
      return lz4(level);
    case 'xz':
      return xz(level ?? XZ_DEFAULT_LEVEL, blockSize ?? DEFAULT_BLOCK_SIZE);
    default:
      throw new SquashfsError(
        'UNKNOWN_COMPRESSOR',
        `unknown compressor "${name}": use gzip, zstd, xz or lz4`,
      );
  }
}

/** Build the compressor for a reader from the superblock id and the options block, if any. */
export function compressorForImage(
  id: number,
  options: Buffer | undefined,
  blockSize: number,
  path?: string,
): Compressor {
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
