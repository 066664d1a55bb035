import type { Codec } from './compressor.js';
import { corrupt } from './errors.js';
import { METADATA_SIZE, METADATA_UNCOMPRESSED } from './format.js';
import type { ImageFile } from './image-file.js';

interface Block {
  data: Buffer;
  /** Absolute position of the following block. */
  next: number;
}

/** Reads metadata blocks (with a small cache) and byte ranges that span them. */
export class MetadataReader {
  private readonly file: ImageFile;
  private readonly compressor: Codec;
  private readonly cache = new Map<number, Block>();

  constructor(file: ImageFile, compressor: Codec) {
    this.file = file;
    this.compressor = compressor;
  }

  block(position: number): Block {
    const hit = this.cache.get(position);
    if (hit) return hit;
    const header = this.file.read(position, 2, 'metadata block header').readUInt16LE(0);
    const size = header & ~METADATA_UNCOMPRESSED;
    if (size === 0 || size > METADATA_SIZE) {
      throw corrupt(`metadata block at byte ${position} claims size ${size}`, this.file.path);
    }
    const raw = this.file.read(position + 2, size, 'metadata block');
    const data = header & METADATA_UNCOMPRESSED ? raw : this.compressor.decompress(raw, METADATA_SIZE);
    const block = { data, next: position + 2 + size };
    if (this.cache.size > 256) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(position, block);
    return block;
  }

  /** Read `length` bytes starting at `offset` inside the block at `position`, continuing into later blocks. */
  read(position: number, offset: number, length: number): { data: Buffer; position: number; offset: number } {
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    let pos = position;
    let off = offset;
    for (;;) {
      const block = this.block(pos);
      if (off > block.data.length)
        throw corrupt(`offset ${off} beyond metadata block at ${pos}`, this.file.path);
      const n = Math.min(length - done, block.data.length - off);
      block.data.copy(out, done, off, off + n);
      done += n;
      off += n;
      if (done === length) break;
      pos = block.next;
      off = 0;
    }
    if (off === this.block(pos).data.length && off === METADATA_SIZE) {
      // Normalise to the start of the next block so callers' positions stay canonical.
      return { data: out, position: this.block(pos).next, offset: 0 };
    }
    return { data: out, position: pos, offset: off };
  }
}

/** A sequential reader over metadata, as used to parse inodes and directory listings. */
export class MetadataCursor {
  constructor(
    private readonly reader: MetadataReader,
    public position: number,
    public offset: number,
  ) {}

  take(length: number): Buffer {
    const r = this.reader.read(this.position, this.offset, length);
    this.position = r.position;
    this.offset = r.offset;
    return r.data;
  }
}
