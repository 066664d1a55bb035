import type { Compressor } from './compressor.js';
import { METADATA_SIZE } from './format.js';
import { storedMetadataBlock } from './metadata-writer.js';

/** Four bytes of a table that must hold where a block of a table starts once compressed. */
interface BlockStartPatch {
  /** Uncompressed position of the four bytes in their table. */
  at: number;
  target: LinkedTable;
  block: number;
}

/**
 * The inode or the directory table, written uncompressed and compressed block by block on the
 * compression workers. The two point into each other (a listing names the inode block of each entry,
 * a directory inode the block of its listing), and where a block starts is known only once the blocks
 * before it are compressed. So references are taken as block index and offset (`index << 16 |
 * offset`), the places that must hold a compressed start are noted, and a block goes to the workers as
 * soon as it is full and the starts it holds are known, while the tables are still being written.
 */
export class LinkedTable {
  private raw = Buffer.allocUnsafe(64 << 10);
  private length = 0;
  /** Patches by the blocks they touch. */
  private readonly patches = new Map<number, BlockStartPatch[]>();
  /** Compressed blocks with their headers, by index. */
  private readonly done: Buffer[] = [];
  /** Blocks handed to the workers so far: the next one to hand over. */
  private submitted = 0;
  /** Start of each block in the compressed table, as far as the blocks before it are compressed. */
  private readonly starts = [0];
  /** Places written for now, to be filled in (see writeLater): their length, by position. */
  private readonly toFill = new Map<number, number>();
  /** How many of those places each block holds, by index: it waits for them. */
  private readonly unfilled = new Map<number, number>();

  /** Where the next byte goes, as a reference: block index << 16 | offset in the block. */
  get ref(): number {
    return this.blockIndex * 0x10000 + this.offset;
  }

  /** Index of the block the next byte goes to. */
  get blockIndex(): number {
    return Math.floor(this.length / METADATA_SIZE);
  }

  /** Offset of the next byte in its block. */
  get offset(): number {
    return this.length % METADATA_SIZE;
  }

  /** Uncompressed bytes written so far. */
  get uncompressedPosition(): number {
    return this.length;
  }

  write(data: Uint8Array): void {
    if (this.length + data.length > this.raw.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.raw.length * 2, this.length + data.length));
      this.raw.copy(grown, 0, 0, this.length);
      this.raw = grown;
    }
    this.raw.set(data, this.length);
    this.length += data.length;
  }

  /**
   * Writes `data` for now: bytes known only later, of the same length, are written over them with
   * `fill`, and their blocks wait for that. Returns where they are.
   */
  writeLater(data: Uint8Array): number {
    const at = this.length;
    this.write(data);
    this.toFill.set(at, data.length);
    this.countUnfilled(at, data.length, 1);
    return at;
  }

  /** The bytes of a place written for now (see writeLater). */
  fill(at: number, data: Uint8Array): void {
    if (this.toFill.get(at) !== data.length)
      throw new Error(`no place of ${data.length} bytes to fill at ${at}`);
    this.toFill.delete(at);
    this.raw.set(data, at);
    this.countUnfilled(at, data.length, -1);
  }

  private countUnfilled(at: number, length: number, change: number): void {
    for (let b = Math.floor(at / METADATA_SIZE); b <= Math.floor((at + length - 1) / METADATA_SIZE); b++) {
      const count = (this.unfilled.get(b) ?? 0) + change;
      if (count === 0) this.unfilled.delete(b);
      else this.unfilled.set(b, count);
    }
  }

  /** The four bytes at uncompressed position `at` of this table are to hold where `target`'s `block` starts. */
  pointAt(at: number, target: LinkedTable, block: number): void {
    const patch = { at, target, block };
    const first = Math.floor(at / METADATA_SIZE);
    const last = Math.floor((at + 3) / METADATA_SIZE);
    for (let b = first; b <= last; b++) {
      const list = this.patches.get(b);
      if (list) list.push(patch);
      else this.patches.set(b, [patch]);
    }
  }

  /** A reference (block index << 16 | offset) as the image stores it: once the table is compressed. */
  resolve(ref: number): number {
    return this.startOf(Math.floor(ref / 0x10000))! * 0x10000 + (ref % 0x10000);
  }

  /** The compressed table: once compressLinkedTables is done. */
  bytes(): Buffer {
    return Buffer.concat(this.done);
  }

  /** Where `block` starts in the compressed table, or undefined while a block before it is not compressed. */
  startOf(block: number): number | undefined {
    return this.starts[block];
  }

  /** Blocks in the table; the last one partial while the table may still grow, unless `final`. */
  private blocksReady(final: boolean): number {
    return final ? Math.ceil(this.length / METADATA_SIZE) : Math.floor(this.length / METADATA_SIZE);
  }

  /** Whether block `b` is filled and every start it holds is known; if so they are written in. */
  private patched(b: number): boolean {
    if (this.unfilled.has(b)) return false;
    const patches = this.patches.get(b) ?? [];
    if (patches.some((p) => p.target.startOf(p.block) === undefined)) return false;
    for (const p of patches) this.raw.writeUInt32LE(p.target.startOf(p.block)!, p.at);
    return true;
  }

  /**
   * Hands over the blocks that are full (all, when `final`) and hold only known starts, in order;
   * returns their compressions, each recording its block when it ends.
   */
  submitReady(compressor: Compressor, final: boolean): Promise<void>[] {
    const started: Promise<void>[] = [];
    const ready = this.blocksReady(final);
    while (this.submitted < ready && this.patched(this.submitted)) {
      const b = this.submitted++;
      const raw = this.raw.subarray(b * METADATA_SIZE, Math.min(this.length, (b + 1) * METADATA_SIZE));
      const shared = Buffer.from(new SharedArrayBuffer(raw.length));
      raw.copy(shared);
      started.push(
        compressor.compressInPlace(shared, false).then((length) => this.record(b, shared, length)),
      );
    }
    return started;
  }

  /** Blocks still to compress or being compressed, with the table complete. */
  get unfinished(): boolean {
    return this.starts.length <= Math.ceil(this.length / METADATA_SIZE);
  }

  private record(b: number, block: Buffer, length: number): void {
    this.done[b] = storedMetadataBlock(block, length);
    // Blocks may come back out of order: starts grow over the run of blocks done from the first.
    while (this.done[this.starts.length - 1] !== undefined)
      this.starts.push(this.starts.at(-1)! + this.done[this.starts.length - 1]!.length);
  }
}

/**
 * Compresses the linked tables' blocks as they become ready, on the compressor's workers: call `pump`
 * as the tables are written (it hands over what it can), then `finish` once they are complete.
 */
export class LinkedTablesCompression {
  private readonly tables: LinkedTable[];
  private readonly compressor: Compressor;
  private readonly running = new Set<Promise<void>>();
  private failure: unknown;
  /** The tables are written whole: their last blocks, partial, may go too. */
  private complete = false;

  constructor(compressor: Compressor, tables: LinkedTable[]) {
    this.compressor = compressor;
    this.tables = tables;
  }

  /** Hands over every block ready now: called as the tables grow, and as blocks come back. */
  pump(): void {
    for (const table of this.tables) {
      for (const started of table.submitReady(this.compressor, this.complete)) {
        const tracked: Promise<void> = started.then(
          () => {
            this.running.delete(tracked);
            // Its start may be what other blocks waited for.
            this.pump();
          },
          (err) => {
            this.running.delete(tracked);
            this.failure ??= err;
          },
        );
        this.running.add(tracked);
      }
    }
  }

  /** The tables are complete: compresses what is left and waits for every block. */
  async finish(): Promise<void> {
    this.complete = true;
    this.pump();
    while (this.running.size > 0) {
      await Promise.race(this.running);
      if (this.failure) throw this.failure;
    }
    if (this.failure) throw this.failure;
    if (this.tables.some((t) => t.unfinished)) {
      throw new Error(
        'metadata tables left blocks uncompressed: a place written for now was never filled in, or their references form a loop',
      );
    }
  }
}
