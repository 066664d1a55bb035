import { hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { BackgroundWrites } from './background-writes.js';
import type { Compressor } from './compressor.js';
import type { FileLayout } from './file-layout.js';
import { DATA_UNCOMPRESSED, NO_FRAGMENT } from './format.js';
import { isHole } from './hole.js';
import { sameStoredBlocks } from './stored-blocks.js';

const IN_FLIGHT_BYTES_PER_CORE = 8 << 20;
/** However many cores: the blocks in flight stay a small part of the memory a conversion may take. */
const IN_FLIGHT_BYTES_MAX = 64 << 20;
/** Places in a file's first block list: 128 MiB of 128 KiB blocks before it has to grow. */
const FIRST_BLOCK_LIST = 1024;

/** `list` with exactly `length` entries: cut, or grown with zeros. */
function resized(list: Uint32Array, length: number): Uint32Array {
  if (length === list.length) return list;
  if (length < list.length) return list.slice(0, length);
  const grown = new Uint32Array(length);
  grown.set(list);
  return grown;
}

/** What a block of hole adds to a file's checksum, in place of its zeros (which no one reads). */
const HOLE_MARK = Buffer.from('hole');
/** Blocks being written at once, on libuv's four threads. */
const WRITES_AT_ONCE = 4;

/** A block on its way to disk: compressed on the workers, written in submission order. */
interface Job {
  /** Compressed bytes, or undefined for a marker that only records the current position. */
  result: Promise<{ bytes: Uint8Array; sizeField: number }> | undefined;
  onWritten(position: number, sizeField: number): void;
  /** The pooled block buffer to reuse once the job is on disk. */
  recycle?: Buffer;
}

/** Whether a file's last compressed block failed to shrink: its data is likely compressed already. */
interface Compressibility {
  incompressible: boolean;
}

export interface FragmentEntry {
  start: number;
  sizeField: number;
}

/**
 * Streams file contents into the data area of the image: full blocks are compressed in parallel and
 * written in order, tails are packed into shared fragment blocks, identical files share their data.
 */
export class DataWriter {
  private readonly compressor: Compressor;
  private readonly blockSize: number;
  private readonly maxInFlight: number;
  private readonly zeroBlock: Buffer;
  /** The image, open for reading too: a checksum match is confirmed against what is stored. */
  private readonly fd: number;
  private readonly queue: Job[] = [];
  private readonly writes: BackgroundWrites;
  /** Where the next written byte goes. */
  private position: number;
  private readonly seen = new Map<string, FileLayout>();
  /** Runs of full blocks already stored, by content: a file that shares them but not its tail reuses them. */
  private readonly seenBlocks = new Map<string, { layout: FileLayout; sparseBytes: number }>();
  private fragment: Buffer;
  private staging: Buffer;
  private fragmentFill = 0;
  readonly fragments: FragmentEntry[] = [];
  duplicates = 0;
  bytesIn = 0;

  constructor(fd: number, compressor: Compressor, blockSize: number, concurrency: number, start: number) {
    this.fd = fd;
    this.writes = new BackgroundWrites(fd, WRITES_AT_ONCE);
    this.compressor = compressor;
    this.blockSize = blockSize;
    // Enough blocks in flight that the workers ride out the main thread's slow stretches (a run of small
    // files, a garbage collection) on the backlog it built in a stretch of big files: 8 MiB per core,
    // 64 blocks of 128 KiB, measured best (16 ran 4% slower, 128 no faster and 35 MB bigger).
    const inFlightBytes = Math.min(IN_FLIGHT_BYTES_PER_CORE * concurrency, IN_FLIGHT_BYTES_MAX);
    this.maxInFlight = Math.max(4 * concurrency, Math.floor(inFlightBytes / blockSize));
    this.zeroBlock = Buffer.alloc(blockSize);
    this.position = start;
    this.fragment = this.takeBlock();
    this.staging = this.takeBlock();
  }

  /**
   * Block buffers circulate: a block goes to the compressor, then to disk, then back here. They are
   * shared memory, which the compression workers read and write in place.
   */
  private readonly spare: Buffer[] = [];

  private takeBlock(): Buffer {
    return this.spare.pop() ?? Buffer.from(new SharedArrayBuffer(this.blockSize));
  }

  private giveBack(block: Buffer): void {
    // Each job in flight or being written holds one; two more are the staging and fragment blocks.
    if (this.spare.length < this.maxInFlight + WRITES_AT_ONCE + 2) this.spare.push(block);
  }

  private async compress(raw: Buffer, probe: boolean): Promise<{ bytes: Uint8Array; sizeField: number }> {
    const length = await this.compressor.compressInPlace(raw, probe);
    // A block that does not shrink is stored as is, flagged uncompressed.
    if (length >= 0) return { bytes: raw.subarray(0, length), sizeField: length };
    return { bytes: raw, sizeField: raw.length | DATA_UNCOMPRESSED };
  }

  private async submit(job: Job): Promise<void> {
    this.queue.push(job);
    while (this.queue.length > this.maxInFlight) await this.writeOne();
  }

  private async writeOne(): Promise<void> {
    const job = this.queue.shift()!;
    if (job.result === undefined) {
      job.onWritten(this.position, 0);
      return;
    }
    const { bytes, sizeField } = await job.result;
    const at = this.position;
    this.position += bytes.length;
    job.onWritten(at, sizeField);
    const { recycle } = job;
    await this.writes.add(bytes, at, recycle && (() => this.giveBack(recycle)));
  }

  /** Every block submitted so far is on disk: its position and size known, the file readable there. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) await this.writeOne();
    await this.writes.settle();
  }

  /** `file`: what the file's blocks showed so far; after one that did not shrink, the next is probed. */
  private submitBlock(
    raw: Buffer,
    onWritten: Job['onWritten'],
    block: Buffer,
    file?: Compressibility,
  ): Promise<void> {
    const result = this.compress(raw, file?.incompressible ?? false);
    result.then(
      (r) => {
        if (file) file.incompressible = (r.sizeField & DATA_UNCOMPRESSED) !== 0;
      },
      // Errors surface when the job is written; keep Node from flagging them as unhandled meanwhile.
      () => {},
    );
    return this.submit({ result, onWritten, recycle: block });
  }

  /** Consume one file's content and return where it is stored. */
  async writeFile(body: AsyncIterable<Buffer>, size: number): Promise<FileLayout> {
    const layout: FileLayout = {
      size,
      blocksStart: 0,
      // Grown as blocks come (a size the tar announces is not trusted with memory), cut at the end.
      blockSizes: new Uint32Array(Math.min(Math.ceil(size / this.blockSize), FIRST_BLOCK_LIST)),
      fragment: NO_FRAGMENT,
      fragmentOffset: 0,
      sparseBytes: 0,
    };
    await this.submit({
      result: undefined,
      onWritten: (pos) => {
        layout.blocksStart = pos;
      },
    });
    // Full blocks and the tail are summed apart, so files that differ only in their tail share blocks.
    // The blocks by a fast checksum, a match confirmed against the stored bytes; the tail by SHA-256.
    let blocksSum = 0;
    const bs = this.blockSize;
    // The staging block is reused across files until it is handed to the compressor: most files are small,
    // and allocating a block per file churns native memory.
    let block = this.staging;
    let fill = 0;
    let total = 0;
    let index = 0;
    const compressibility: Compressibility = { incompressible: false };

    /** The next block's place in the list, which doubles when full. */
    const nextBlock = (): number => {
      if (index === layout.blockSizes.length)
        layout.blockSizes = resized(layout.blockSizes, Math.max(16, index * 2));
      return index++;
    };

    const emit = async (full: Buffer): Promise<void> => {
      blocksSum = crc32(full, blocksSum);
      const i = nextBlock();
      if (full.equals(this.zeroBlock)) {
        layout.blockSizes[i] = 0;
        layout.sparseBytes += bs;
        this.giveBack(full);
        return;
      }
      await this.submitBlock(
        full,
        (_pos, sizeField) => {
          layout.blockSizes[i] = sizeField;
        },
        full,
        compressibility,
      );
    };

    /** A whole block of hole: stored as nothing, without copying or looking at it. */
    const holeBlock = (): void => {
      blocksSum = crc32(HOLE_MARK, blocksSum);
      nextBlock(); // its size is 0
      layout.sparseBytes += bs;
    };

    for await (const chunk of body) {
      total += chunk.length;
      let pos = 0;
      if (isHole(chunk)) {
        // Up to a block boundary as ordinary zeros, then whole blocks of hole.
        if (fill > 0) {
          pos = Math.min(bs - fill, chunk.length);
          block.fill(0, fill, fill + pos);
          fill += pos;
          if (fill === bs) {
            await emit(block);
            block = this.staging = this.takeBlock();
            fill = 0;
          }
        }
        for (; fill === 0 && chunk.length - pos >= bs; pos += bs) holeBlock();
      }
      while (pos < chunk.length) {
        if (fill === 0 && chunk.length - pos >= bs) {
          // Whole block inside the chunk: hand over a copy without staging it.
          const whole = this.takeBlock();
          chunk.copy(whole, 0, pos, pos + bs);
          await emit(whole);
          pos += bs;
          continue;
        }
        const n = Math.min(bs - fill, chunk.length - pos);
        chunk.copy(block, fill, pos, pos + n);
        fill += n;
        pos += n;
        if (fill === bs) {
          await emit(block);
          block = this.staging = this.takeBlock();
          fill = 0;
        }
      }
    }
    this.bytesIn += total;
    if (total !== size) throw new Error(`a file's data came to ${total} bytes where ${size} were announced`);
    const tail = block.subarray(0, fill);

    const blocksKey = `${blocksSum}:${index}`;
    const key = `${blocksKey}:${hash('sha256', tail, 'base64')}:${total}`;
    const previous = this.seen.get(key);
    if (previous && index === 0) {
      // Same content as an earlier file with no full blocks: nothing of this one was written.
      this.duplicates++;
      return previous;
    }
    // Blocks are compared only once both files' are on disk.
    if (previous || this.seenBlocks.has(blocksKey)) await this.drain();
    if (previous && sameStoredBlocks(this.fd, previous, layout, index)) {
      // Same content as an earlier file: drop the blocks just written and point at the earlier copy.
      this.position = layout.blocksStart;
      this.duplicates++;
      return previous;
    }
    // An all-zero tail is a hole too (as tar2sqfs stores it): a sparse last block, no fragment.
    const holeTail = fill > 0 && tail.equals(this.zeroBlock.subarray(0, fill));
    layout.blockSizes = resized(layout.blockSizes, holeTail ? index + 1 : index);
    const earlier = index > 0 ? this.seenBlocks.get(blocksKey) : undefined;
    const sameBlocks =
      earlier && sameStoredBlocks(this.fd, earlier.layout, layout, index) ? earlier : undefined;
    if (sameBlocks) {
      // The same full blocks as an earlier file (as tar2sqfs finds them): point at those, keep the tail.
      this.position = layout.blocksStart;
      layout.blocksStart = sameBlocks.layout.blocksStart;
      layout.blockSizes.set(sameBlocks.layout.blockSizes.subarray(0, index));
      layout.sparseBytes = sameBlocks.sparseBytes;
    } else if (index > 0 && !earlier) {
      // Its positions and sizes are filled in as its blocks are written; read only after a drain.
      this.seenBlocks.set(blocksKey, { layout, sparseBytes: layout.sparseBytes });
    }
    if (holeTail) {
      layout.sparseBytes += fill;
    } else if (fill > 0) {
      const at = await this.addFragment(tail);
      layout.fragment = at.index;
      layout.fragmentOffset = at.offset;
    }
    if (!previous) this.seen.set(key, layout);
    return layout;
  }

  private async addFragment(tail: Buffer): Promise<{ index: number; offset: number }> {
    if (this.fragmentFill + tail.length > this.blockSize) await this.flushFragment();
    const offset = this.fragmentFill;
    tail.copy(this.fragment, offset);
    this.fragmentFill += tail.length;
    return { index: this.fragments.length, offset };
  }

  private async flushFragment(): Promise<void> {
    if (this.fragmentFill === 0) return;
    const entry: FragmentEntry = { start: 0, sizeField: 0 };
    this.fragments.push(entry);
    const full = this.fragment;
    const raw = full.subarray(0, this.fragmentFill);
    this.fragment = this.takeBlock();
    this.fragmentFill = 0;
    await this.submitBlock(
      raw,
      (pos, sizeField) => {
        entry.start = pos;
        entry.sizeField = sizeField;
      },
      full,
    );
  }

  /** Flush the last fragment and every pending block; returns the end of the data area. */
  async finish(): Promise<number> {
    await this.flushFragment();
    await this.drain();
    return this.position;
  }

  /** On failure: wait for in-flight compression and writes so no work outlives the caller. */
  async abort(): Promise<void> {
    await Promise.allSettled([...this.queue.map((j) => j.result), this.writes.settle()]);
    this.queue.length = 0;
  }
}
