import type { Codec, Compressor } from './compressor.js';
import { METADATA_SIZE, METADATA_UNCOMPRESSED } from './format.js';

/**
 * Packs a byte stream into squashfs metadata blocks (8 KiB each, compressed, with a 2-byte header).
 * Tables are small next to file data, so this compresses synchronously and keeps the result in memory.
 */
export class MetadataWriter {
  private readonly compressor: Codec;
  private readonly pending = Buffer.alloc(METADATA_SIZE);
  private fill = 0;
  private readonly blocks: Buffer[] = [];
  /** Bytes of finished (compressed) blocks so far: the start of the block being filled. */
  private written = 0;
  private fullBlocks = 0;

  constructor(compressor: Codec) {
    this.compressor = compressor;
  }

  /** Start of the current block relative to the table start. */
  get blockStart(): number {
    return this.written;
  }

  /** Offset within the current uncompressed block. */
  get offset(): number {
    return this.fill;
  }

  /** Uncompressed bytes written so far (block boundaries fall on multiples of 8 KiB). */
  get uncompressedPosition(): number {
    return this.fullBlocks * METADATA_SIZE + this.fill;
  }

  /** A squashfs reference (block start << 16 | offset) to the next byte written. */
  get ref(): number {
    return this.written * 0x10000 + this.fill;
  }

  write(data: Uint8Array): void {
    let pos = 0;
    while (pos < data.length) {
      const n = Math.min(data.length - pos, METADATA_SIZE - this.fill);
      this.pending.set(data.subarray(pos, pos + n), this.fill);
      this.fill += n;
      pos += n;
      if (this.fill === METADATA_SIZE) this.flushBlock();
    }
  }

  private flushBlock(): void {
    if (this.fill === 0) return;
    const raw = this.pending.subarray(0, this.fill);
    const packed = this.compressed(raw);
    const header = Buffer.alloc(2);
    let body: Buffer;
    if (packed) {
      header.writeUInt16LE(packed.length, 0);
      body = packed;
    } else {
      header.writeUInt16LE(raw.length | METADATA_UNCOMPRESSED, 0);
      body = Buffer.from(raw);
    }
    this.blocks.push(header, body);
    this.written += 2 + body.length;
    this.fill = 0;
    this.fullBlocks++;
  }

  /**
   * `raw` compressed, or undefined when that would not shrink it. Through the codec's reused context where
   * it has one: a one-shot call sets up a new context per 8 KiB block, which took half of the tables' time.
   */
  private compressed(raw: Buffer): Buffer | undefined {
    const into = this.compressor.compressIntoSync;
    if (into) {
      const out = Buffer.allocUnsafe(raw.length);
      const length = into(raw, out);
      return length < 0 ? undefined : out.subarray(0, length);
    }
    const packed = this.compressor.compressSync(raw);
    return packed.length < raw.length ? packed : undefined;
  }

  /** Finish the last partial block and return the table's bytes. */
  finish(): Buffer {
    this.flushBlock();
    return Buffer.concat(this.blocks);
  }
}

/**
 * A metadata block as the image stores it: a 2-byte header, then the bytes `compressInPlace` left at the
 * start of `block` (`length` of them), or the block as it is when compressing did not shrink it (-1).
 */
export function storedMetadataBlock(block: Buffer, length: number): Buffer {
  const stored = Buffer.allocUnsafe(2 + (length >= 0 ? length : block.length));
  stored.writeUInt16LE(length >= 0 ? length : block.length | METADATA_UNCOMPRESSED, 0);
  block.copy(stored, 2, 0, stored.length - 2);
  return stored;
}

/** The entries of a lookup table (fragment, id, export, xattr id) in metadata blocks, compressed on the workers. */
export function lookupBlocks(entries: Buffer, compressor: Compressor): Promise<Buffer[]> {
  const blocks: Promise<Buffer>[] = [];
  for (let pos = 0; pos < entries.length; pos += METADATA_SIZE) {
    const raw = entries.subarray(pos, pos + METADATA_SIZE);
    const shared = Buffer.from(new SharedArrayBuffer(raw.length));
    raw.copy(shared);
    blocks.push(
      compressor.compressInPlace(shared, false).then((length) => storedMetadataBlock(shared, length)),
    );
  }
  return Promise.all(blocks);
}

/**
 * A lookup table's metadata blocks followed by the list of their absolute positions, for the table to
 * land at `tableStart`. Returns the bytes and the offset within them of the position list (what the
 * superblock points to).
 */
export function placedLookupTable(
  blocks: Buffer[],
  tableStart: number,
): { bytes: Buffer; listOffset: number } {
  const list = Buffer.alloc(blocks.length * 8);
  let size = 0;
  blocks.forEach((block, i) => {
    list.writeUIntLE(tableStart + size, i * 8, 6);
    size += block.length;
  });
  return { bytes: Buffer.concat([...blocks, list]), listOffset: size };
}

/** A lookup table compressed on this thread: for the small ones written at the very end (xattr ids). */
export function buildLookupTable(
  entries: Buffer,
  tableStart: number,
  compressor: Codec,
): { bytes: Buffer; listOffset: number } {
  const blocks: Buffer[] = [];
  for (let pos = 0; pos < entries.length; pos += METADATA_SIZE) {
    const w = new MetadataWriter(compressor);
    w.write(entries.subarray(pos, pos + METADATA_SIZE));
    blocks.push(w.finish());
  }
  return placedLookupTable(blocks, tableStart);
}
