import type { Transform } from 'node:stream';

/** What Node's own synchronous zlib functions use of a stream: its native handle and the state it reports. */
interface StreamInternals {
  _handle?: {
    writeSync(
      flush: number,
      input: Uint8Array,
      inOff: number,
      inLen: number,
      out: Uint8Array,
      outOff: number,
      outLen: number,
    ): void;
  };
  _writeState?: Uint32Array;
}

/** Compresses one whole block into `out`: the compressed length, or -1 when it would not be smaller. */
export type BlockCompressor = (block: Uint8Array, out: Uint8Array) => number;

/** More than any codec here can make of `size` bytes, however incompressible. */
function worstCase(size: number): number {
  return size + (size >> 3) + 1024;
}

/** Output room for one context: a buffer grown to the worst case of the biggest block seen. */
function ownRoom(): (size: number) => Buffer {
  let scratch = Buffer.alloc(0);
  return (size) => {
    if (scratch.length < worstCase(size)) scratch = Buffer.allocUnsafe(worstCase(size));
    return scratch;
  };
}

/**
 * Blocks compressed through a native zlib context, driven the way Node's own synchronous functions
 * drive it, into `room`. Node's one-shot calls build a context per block (a megabyte for zstd) and free
 * it only at a full garbage collection, so a thread compressing blocks holds some 64 MB of dead
 * contexts; reused (zstd), this holds one and allocates nothing per block. undefined where Node lacks
 * these internals.
 */
function blockContext(
  stream: Transform,
  flush: number,
  room: (size: number) => Buffer = ownRoom(),
): BlockCompressor | undefined {
  const { _handle: handle, _writeState: state } = stream as unknown as StreamInternals;
  if (typeof handle?.writeSync !== 'function' || !state) {
    stream.destroy();
    return undefined;
  }
  stream.on('error', () => {}); // a failed write shows as a destroyed stream, checked below
  return (block, out) => {
    // Room for the worst case, so every stream ends within one call and the context is never left mid-way.
    const scratch = room(block.byteLength);
    handle.writeSync(flush, block, 0, block.byteLength, scratch, 0, scratch.length);
    if (stream.destroyed) throw new Error('the native compressor failed');
    const [outLeft, inLeft] = [state[0]!, state[1]!];
    if (outLeft === 0 || inLeft !== 0) throw new Error('the native compressor did not finish a block');
    return placeInto(scratch.subarray(0, scratch.length - outLeft), block, out);
  };
}

/** `packed` copied into `out` when it is smaller than the block: its length, else -1. */
export function placeInto(packed: Uint8Array, block: Uint8Array, out: Uint8Array): number {
  if (packed.byteLength >= block.byteLength) return -1;
  out.set(packed);
  return packed.byteLength;
}

/**
 * A block compressor over one reused context, made on first use on the thread that uses it (readers
 * never need one); the one-shot call where Node's internals are not there. Only for a codec whose
 * output does not depend on what the context compressed before (zstd's does not; deflate's does).
 * `flush`: the flag that completes a stream (ZSTD_e_end).
 */
export function inPlaceCompressor(
  makeStream: () => Transform,
  flush: number,
  oneShot: (data: Uint8Array) => Buffer,
): BlockCompressor {
  let context: BlockCompressor | undefined;
  return (block, out) => {
    context ??= blockContext(makeStream(), flush) ?? ((b, o) => placeInto(oneShot(b), b, o));
    return context(block, out);
  };
}

/** The output room of the contexts made per block, shared: one per thread, not one per block. */
const perBlockRoom = ownRoom();

/**
 * A block compressor that makes a context for each block and frees it at once: for a codec whose
 * output depends on what its context compressed before (deflate looks into its window past the end of
 * the input, and a reset leaves there what the last block held). Node's one-shot call would do the
 * same, but frees the context only at a garbage collection: some 120 MB more for a gzip conversion.
 */
export function contextPerBlock(
  makeStream: () => Transform & { close(): void },
  flush: number,
  oneShot: (data: Uint8Array) => Buffer,
): BlockCompressor {
  return (block, out) => {
    const stream = makeStream();
    try {
      const compress = blockContext(stream, flush, perBlockRoom);
      return compress ? compress(block, out) : placeInto(oneShot(block), block, out);
    } finally {
      stream.close();
    }
  };
}
