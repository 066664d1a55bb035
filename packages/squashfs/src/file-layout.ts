/** Where a regular file's content lives in the image. */
export interface FileLayout {
  size: number;
  /** Absolute position of the first data block. */
  blocksStart: number;
  /** On-disk size field of each full block (0 = sparse, bit 24 = stored uncompressed). */
  blockSizes: Uint32Array;
  /** Fragment block index of the tail, or NO_FRAGMENT. */
  fragment: number;
  fragmentOffset: number;
  /** Bytes of the file that are holes (all-zero blocks not stored). */
  sparseBytes: number;
  /** The data writer's jobs that must be written before the fields above are final (see DataWriter.settled). */
  settledAfter: number;
}
