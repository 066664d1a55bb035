import { pipeline, type Readable } from 'node:stream';
import { openLayerTar } from '@concil/image';
import { type Descriptor, type Digest, DigestingStream, ensureVerified } from '@concil/oci-spec';

/** A layer blob as the tar it holds, and that tar's digest (the diff_id) once it is read to its end. */
export interface LayerInput {
  /** The tar's bytes; a reader that stops early (at the end-of-archive blocks) does not end it. */
  tar: AsyncIterable<Uint8Array>;
  /** Reads what is left of the tar (its end blocks, padding); its digest and size. */
  finish(): Promise<{ diffId: Digest; size: number }>;
  /** Stops reading, after a failure. */
  destroy(): void;
}

/**
 * Opens a pushed layer blob (checked against its descriptor as it is read, unless `verify` is
 * false for content whose digest is learnt at its end) as its tar, however it
 * is compressed (gzip, zstd, none, squashfs: `openLayerTar` of `@concil/image`).
 */
export async function openLayerInput(
  descriptor: Descriptor,
  content: Readable,
  signal?: AbortSignal,
  verify = true,
): Promise<LayerInput> {
  const tar = await openLayerTar(
    {
      descriptor,
      diffId: undefined,
      open: async () => (verify ? ensureVerified(content, descriptor) : content),
    },
    signal,
  );
  const hashing = new DigestingStream();
  const piped = pipeline(tar, hashing, () => {});
  const chunks = piped[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  return {
    tar: {
      [Symbol.asyncIterator]: () => ({
        next: () => chunks.next(),
        // A reader done with the entries leaves the rest to `finish`, which checks the whole tar.
        return: async () => ({ done: true, value: undefined }),
      }),
    },
    async finish() {
      while (!(await chunks.next()).done) {
        // the end-of-archive blocks and padding: hashed, nothing to write
      }
      return { diffId: hashing.digest, size: hashing.size };
    },
    destroy: () => piped.destroy(),
  };
}
