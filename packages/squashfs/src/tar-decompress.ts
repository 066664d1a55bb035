import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { SquashfsError } from './errors.js';

/** zlib's default 16 KiB output chunks cost a callback each on the main thread; 256 KiB ones do not. */
const DECOMPRESSED_CHUNK = 1 << 18;

const GZIP = [0x1f, 0x8b];
const ZSTD = [0x28, 0xb5, 0x2f, 0xfd];
const XZ = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

function startsWith(b: Buffer, magic: number[]): boolean {
  return magic.every((v, i) => b[i] === v);
}

/** Whether these first bytes are those of a gzip, zstd or xz stream rather than of a tar. */
export function isCompressed(head: Buffer): boolean {
  return [GZIP, ZSTD, XZ].some((magic) => startsWith(head, magic));
}

/**
 * Turn a layer as found in registries (.tar, .tar.gz, .tar.zst) into an uncompressed tar stream,
 * recognising the compression by its magic bytes rather than by a file name.
 */
export async function* decompressedTar(
  source: Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Buffer> {
  const iterator: AsyncIterator<Uint8Array> | Iterator<Uint8Array> =
    Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  let head = Buffer.alloc(0);
  let done = false;
  while (head.length < 6 && !done) {
    const next = await iterator.next();
    if (next.done) done = true;
    else head = Buffer.concat([head, next.value]);
  }
  async function* rest(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (done) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      // A view, not Buffer.from(chunk): copying every chunk of a layer costs a second per gigabyte.
      yield asBuffer(next.value);
    }
  }
  if (startsWith(head, XZ)) {
    throw new SquashfsError(
      'UNKNOWN_COMPRESSOR',
      'xz-compressed tar input is not supported: decompress it first',
    );
  }
  const decompressor = startsWith(head, GZIP)
    ? zlib.createGunzip({ chunkSize: DECOMPRESSED_CHUNK })
    : startsWith(head, ZSTD)
      ? zlib.createZstdDecompress({ chunkSize: DECOMPRESSED_CHUNK })
      : undefined;
  if (!decompressor) {
    yield* rest();
    return;
  }
  const input = Readable.from(rest());
  input.on('error', (err) => decompressor.destroy(err));
  input.pipe(decompressor);
  try {
    for await (const chunk of decompressor) yield chunk as Buffer;
  } catch (err) {
    if (err instanceof SquashfsError) throw err;
    throw new SquashfsError(
      'TAR_CORRUPT',
      `compressed tar input does not decompress: ${(err as Error).message}`,
      undefined,
      {
        cause: err,
      },
    );
  }
}
