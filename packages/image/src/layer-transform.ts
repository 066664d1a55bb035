import type { Readable } from 'node:stream';
import type { Descriptor, Digest } from '@concil/oci-spec';

/**
 * A layer transform makes one output layer from zero, one or several source layers: a new layer
 * from a directory or file (zero), a conversion, a filter, encryption or decryption (one), a
 * merge (several). It reads verified source streams, stores its new blob through `ingest` (its
 * digest is known only at its end) and reports the diff_id the new config records for it.
 */
export interface LayerTransform {
  /**
   * What the transform does, with every option that changes its output (`convert:squashfs:zstd:10`).
   * Results are shared by (source digests, id): a layer that several platforms of an index share
   * is transformed once.
   */
  readonly id: string;
  apply(sources: readonly SourceLayer[], context: TransformContext): Promise<TransformedLayer>;
  /**
   * Whether the transform does its heavy work on threads of its own for these sources: the copy's
   * thread then keeps its own hashes (the sources' verification, the new blob's digest) instead of
   * handing them to the helper hashing thread, which would only add its memory and copies.
   */
  worksOffThread?(sources: readonly SourceLayer[]): boolean;
}

/** A layer of the source image, as a transform sees it. */
export interface SourceLayer {
  /** Its descriptor in the source manifest (media type, digest, size, annotations). */
  readonly descriptor: Descriptor;
  /** What the source config's `rootfs.diff_ids` holds for it. */
  readonly diffId: string | undefined;
  /** Its bytes, verified against the descriptor as they are read; each call opens a new stream. */
  open(): Promise<Readable>;
}

export interface TransformContext {
  /**
   * Stores the new blob in the destination, hashed while it is written; returns its descriptor.
   * With `expected` (a digest and size known beforehand, as a decryption knows its plaintext's),
   * the destination verifies them as it writes and keeps nothing on a mismatch, so the content is
   * hashed once.
   */
  ingest(
    mediaType: string,
    content: Readable,
    expected?: Pick<Descriptor, 'digest' | 'size'>,
  ): Promise<Descriptor>;
  /**
   * Stores a new blob that `write` makes as a file at the path it is given (a squashfs image,
   * written out of order): the file is made on the destination's own file system and renamed
   * into place, so its bytes are written once. Optional: without it (a context that wraps
   * `ingest`, as `thenFilter` does), the file is made in a temporary directory and streamed
   * into `ingest` (`encodeLayer` does so).
   */
  ingestFile?(mediaType: string, write: (path: string) => Promise<void>): Promise<Descriptor>;
  /** Aborted when the copy fails elsewhere or is cancelled: stop and let the error through. */
  readonly signal: AbortSignal;
}

export interface TransformedLayer {
  /** The new blob as ingested, with any annotations the transform gives it. */
  descriptor: Descriptor;
  /**
   * What the new config's `rootfs.diff_ids` holds for it: the digest of its uncompressed tar, or,
   * by concil's convention for squashfs and encrypted layers, the blob's own digest.
   */
  diffId: Digest;
}
