import type { Codec } from './compressor.js';
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
 * Serialise a lookup table (fragment, id, export, xattr id): entries in metadata blocks, then the list of
 * the blocks' absolute positions. `tableStart` is where these bytes will land in the image. Returns the bytes
 * and the offset within them of the position list (what the superblock points to).
 */
export function buildLookupTable(
  entries: Buffer,
  tableStart: number,
  compressor: Codec,
): { bytes: Buffer; listOffset: number } {
  const parts: Buffer[] = [];
  const locations: number[] = [];
  let size = 0;
  for (let pos = 0; pos < entries.length; pos += METADATA_SIZE) {
    const w = new MetadataWriter(compressor);
    w.write(entries.subarray(pos, pos + METADATA_SIZE));
    const block = w.finish();
    locations.push(tableStart + size);
    parts.push(block);
    size += block.length;
  }
  const list = Buffer.alloc(locations.length * 8);
  locations.forEach((loc, i) => {
    list.writeBigUInt64LE(BigInt(loc), i * 8);
  });
  parts.push(list);
  return { bytes: Buffer.concat(parts), listOffset: size };
}
