import { createRequire } from 'node:module';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { Codec } from './compressor.js';
import { corrupt, decompressBlock, SquashfsError } from './errors.js';
import { CompressorId, METADATA_SIZE } from './format.js';
import { xzDecodedSize, xzStream } from './xz-format.js';

/** squashfs-tools' xz level (liblzma's default preset); the image does not record it. */
export const XZ_DEFAULT_LEVEL = 6;
/** How long compressSync waits for its thread before calling it stuck. */
const SYNC_TIMEOUT_MS = 60_000;

/**
 * The dictionary squashfs-tools and the kernel assume without an options block: the block size,
 * but at least a metadata block. The kernel's decoder allocates exactly this much and refuses a
 * block whose xz header declares more.
 */
function defaultDictSize(blockSize: number): number {
  return Math.max(blockSize, METADATA_SIZE);
}

type LzmaLibrary = typeof import('@napi-rs/lzma');
let library: LzmaLibrary | Error | undefined;

/**
 * The xz library, loaded on first use: where its native part does not load (another platform, an
 * older Node), xz alone is unavailable and every other compressor still works.
 */
function lzmaLibrary(): LzmaLibrary {
  if (library === undefined) {
    try {
      library = createRequire(import.meta.url)('@napi-rs/lzma') as LzmaLibrary;
    } catch (err) {
      library = err as Error;
    }
  }
  if (library instanceof Error) {
    throw new SquashfsError(
      'COMPRESSOR_UNAVAILABLE',
      `compressor xz is not available: its library @napi-rs/lzma does not load here (${library.message})`,
    );
  }
  return library;
}

/** Raw LZMA2 off the main thread: the library's stream transform runs on its own thread pool. */
async function encode(data: Uint8Array, options: { preset: number; dictSize: number }): Promise<Buffer> {
  const parts: Buffer[] = [];
  const stream = lzmaLibrary().lzma2.compressStream(ReadableStream.from([data]), options);
  for await (const part of stream) parts.push(part);
  return Buffer.concat(parts);
}

/** compressSync through a worker thread: post the block, sleep until the worker signals its reply. */
class SyncEncoder {
  private readonly signal = new Int32Array(new SharedArrayBuffer(4));
  private readonly port: MessagePort;
  private readonly worker: Worker;
  /** Why the thread died, once its error event got through. */
  private failure: Error | undefined;

  constructor(options: { preset: number; dictSize: number }) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    // From src/ (the tests) Node runs the TypeScript source itself.
    const script = new URL(`./xz-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);
    this.worker = new Worker(script, {
      workerData: { ...options, port: port2, signal: this.signal },
      transferList: [port2],
      execArgv: [], // the parent's flags (say --input-type) may not apply to a script file
    });
    this.worker.on('error', (err) => {
      this.failure = err;
    });
    this.worker.unref();
  }

  encode(data: Uint8Array): Buffer {
    Atomics.store(this.signal, 0, 0);
    this.port.postMessage(data.slice()); // a copy: cloning a view would copy its whole pool
    if (this.failure || Atomics.wait(this.signal, 0, 0, SYNC_TIMEOUT_MS) === 'timed-out') {
      const why = this.failure ? `: ${this.failure.message}` : '';
      throw new SquashfsError('COMPRESSOR_UNAVAILABLE', `the xz compression thread does not answer${why}`);
    }
    const reply = receiveMessageOnPort(this.port)?.message as { packed: Uint8Array } | { error: string };
    if ('error' in reply) throw new Error(`xz compression failed: ${reply.error}`);
    return Buffer.from(reply.packed.buffer, reply.packed.byteOffset, reply.packed.byteLength);
  }

  close(): void {
    this.port.close();
    void this.worker.terminate();
  }
}

/**
 * xz as squashfs-tools writes it: each block a whole .xz stream (LZMA2, CRC32 check) whose dictionary
 * is the image's, at liblzma preset `level` (0-9). Only the dictionary goes into the options block,
 * and only when it is not the default (tar2sqfs does the same; 4 KiB blocks still get 8 KiB).
 */
export function xz(level: number, blockSize: number, dictSize = defaultDictSize(blockSize)): Codec {
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new SquashfsError('BAD_OPTION', `xz level must be an integer from 0 to 9, got ${level}`);
  }
  lzmaLibrary();
  const options = { preset: level, dictSize };
  let sync: SyncEncoder | undefined;
  return {
    name: 'xz',
    id: CompressorId.xz,
    level,
    compressAsync: async (data) => xzStream(await encode(data, options), data, dictSize),
    compressSync(data) {
      sync ??= new SyncEncoder(options);
      return xzStream(sync.encode(data), data, dictSize);
    },
    // The chunk headers tell the size before anything is decoded: a bomb is refused unopened.
    decompress: decompressBlock('an xz block', (data, { maxOutputLength }) => {
      const size = xzDecodedSize(data);
      if (size > maxOutputLength) {
        throw new Error(`it holds ${size} bytes, more than the ${maxOutputLength} expected`);
      }
      return lzmaLibrary().xz.decompressSync(data);
    }),
    options() {
      if (dictSize === blockSize) return undefined;
      const b = Buffer.alloc(8);
      b.writeUInt32LE(dictSize, 0);
      b.writeUInt32LE(0, 4); // no executable (BCJ) filters tried
      return b;
    },
    close() {
      sync?.close();
      sync = undefined;
    },
  };
}

/** The xz compressor for reading an image: every block names its own filters, so BCJ needs nothing. */
export function xzForImage(options: Buffer | undefined, blockSize: number, path?: string): Codec {
  if (!options) return xz(XZ_DEFAULT_LEVEL, blockSize);
  const dictSize = options.length >= 8 ? options.readUInt32LE(0) : 0;
  // Like squashfs-tools: a dictionary of 2^n or 3 * 2^(n-1) bytes, at least 8 KiB.
  const low = dictSize & -dictSize;
  if (dictSize < METADATA_SIZE || (dictSize !== low && dictSize !== 3 * low)) {
    throw corrupt(`the xz options declare a dictionary of ${dictSize} bytes`, path);
  }
  return xz(XZ_DEFAULT_LEVEL, blockSize, dictSize);
}
