import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { fileSystemFailure } from './errors.js';
import { decompressedTar, isCompressed } from './tar-decompress.js';

const CHUNK = 1 << 20;
/**
 * The tar reader is done with a chunk's bytes by the time it asks for the one after next (a PAX
 * record may be read up to its padding in the next), and one more is being read ahead: four leave
 * one to spare. Header fields are read before anything else, however far a sparse map runs.
 */
const BUFFERS = 4;

/**
 * A layer file as createSquashfs reads it. A compressed one (recognised by content) goes through
 * decompressedTar. A plain one is read through a few reused buffers: a fresh buffer per read makes
 * V8 run a full collection every 64 MB of input, some 7% of a conversion's time.
 */
export async function* tarFileChunks(path: string): AsyncGenerator<Buffer> {
  let file: Awaited<ReturnType<typeof open>>;
  try {
    file = await open(path, 'r');
  } catch (cause) {
    throw fileSystemFailure(cause, 'cannot read the tar', path, 'READ_FAILED') ?? cause;
  }
  const buffers = Array.from({ length: BUFFERS }, () => Buffer.allocUnsafe(CHUNK));
  let position = 0;
  // The next chunk is read while the caller works on this one.
  let next = file.read(buffers[0]!, 0, CHUNK, 0);
  try {
    for (let i = 0; ; i++) {
      const buffer = buffers[i % BUFFERS]!;
      const { bytesRead } = await next;
      if (bytesRead === 0) return;
      if (position === 0 && isCompressed(buffer.subarray(0, bytesRead))) {
        yield* decompressedTar(createReadStream(path, { highWaterMark: CHUNK }));
        return;
      }
      position += bytesRead;
      next = file.read(buffers[(i + 1) % BUFFERS]!, 0, CHUNK, position);
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await next.catch(() => {});
    await file.close();
  }
}
