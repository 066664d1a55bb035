import { hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { BATCH_PIECES, BackgroundWrites } from './background-writes.js';
import type { Compressor } from './compressor.js';
import type { FileLayout } from './file-layout.js';
import { DATA_UNCOMPRESSED, NO_FRAGMENT } from './format.js';
import { isHole } from './hole.js';
import { sameStoredBlocks, storedBlocksHold } from './stored-blocks.js';

const IN_FLIGHT_BYTES_PER_CORE = 8 << 20;
/** However many cores: the blocks in flight stay a small part of the memory a conversion may take. */
const IN_FLIGHT_BYTES_MAX = 64 << 20;
/**
 * Files up to this size keep their blocks until their last byte is in: a file found to be a copy of
 * one already stored is then never compressed (zstd-10 on copies was 1% of a root filesystem's time).
 */
const HOLD_BYTES = 4 << 20;
/** Places in a file's first block list: 128 MiB of 128 KiB blocks before it has to grow. */
const FIRST_BLOCK_LIST = 1024;

/** The block list of the many files that have none: shared, and never written to (it has no places). */
const NO_BLOCKS = new Uint32Array(0);

/** `list` with exactly `length` entries: cut, or grown with zeros. */
function resized(list: Uint32Array, length: number): Uint32Array {
  if (length === list.length) return list;
  if (length === 0) return NO_BLOCKS;
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
  result: Promise<{ bytes: Uint8Array; sizeField: number }>;
  onWritten(position: number, sizeField: number): void;
  /** Told the position right after this job's bytes: where the files begun after it start. */
  after?: ((position: number) => void)[];
  /** The pooled block buffer to reuse once the job is on disk. */
  recycle?: Buffer;
}

export interface FragmentEntry {
  start: number;
  sizeField: number;
}

/** A file whose content is coming in: its layout so far, the block being filled, its checksums. */
class FileInProgress {
  readonly layout: FileLayout;
  /** CRC-32 of its full blocks so far. */
  blocksSum = 0;
  /** The block being filled: the writer's staging block, reused across files until handed over. */
  block: Buffer;
  fill = 0;
  total = 0;
  /** Full blocks so far. */
  index = 0;
  /**
   * A small file's full blocks, kept back until it is known not to be a copy (see HOLD_BYTES), by
   * index: undefined for a block of zeros, which is stored as nothing anyway. undefined for a big file.
   */
  held: (Buffer | undefined)[] | undefined;

  constructor(size: number, blockSize: number, staging: Buffer) {
    this.layout = {
      size,
      blocksStart: 0,
      // Grown as blocks come (a size the tar announces is not trusted with memory), cut at the end.
      blockSizes: resized(NO_BLOCKS, Math.min(Math.floor(size / blockSize), FIRST_BLOCK_LIST)),
      fragment: NO_FRAGMENT,
      fragmentOffset: 0,
      sparseBytes: 0,
      settledAfter: Number.POSITIVE_INFINITY,
    };
    this.block = staging;
    if (size <= HOLD_BYTES) this.held = [];
  }

  /** The next block's place in the list, which doubles when full. */
  nextBlock(): number {
    if (this.index === this.layout.blockSizes.length)
      this.layout.blockSizes = resized(this.layout.blockSizes, Math.max(16, this.index * 2));
    return this.index++;
  }

  /** A whole block of hole: stored as nothing, without copying or looking at it. */
  holeBlock(blockSize: number): void {
    this.blocksSum = crc32(HOLE_MARK, this.blocksSum);
    this.held?.push(undefined);
    this.nextBlock(); // its size is 0
    this.layout.sparseBytes += blockSize;
  }
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
  /** Jobs queued so far, and jobs written so far: a file is settled once `written` reaches its `settledAfter`. */
  private queued = 0;
  private written = 0;
  /** Jobs written and then flushed through the gathered writes: readable from the image. */
  private flushed = 0;
  /** Those waiting for files to settle while the last blocks are written (see settled). */
  private waiters: { jobs: number; resolve(): void; reject(err: unknown): void }[] = [];
  private failure: unknown;
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
    // Each job in flight holds one, each piece of a write under way or being gathered, and each block
    // of a file held back; two more are the staging and fragment blocks. Kept for reuse: a new shared
    // buffer is memory the collector must be pressed to give back.
    const inUse =
      this.maxInFlight + (WRITES_AT_ONCE + 1) * BATCH_PIECES + Math.ceil(HOLD_BYTES / this.blockSize) + 2;
    if (this.spare.length < inUse) this.spare.push(block);
  }

  private async compress(raw: Buffer, probe: boolean): Promise<{ bytes: Uint8Array; sizeField: number }> {
    const length = await this.compressor.compressInPlace(raw, probe);
    // A block that does not shrink is stored as is, flagged uncompressed.
    if (length >= 0) return { bytes: raw.subarray(0, length), sizeField: length };
    return { bytes: raw, sizeField: raw.length | DATA_UNCOMPRESSED };
  }

  /** Queues a job; a promise to wait on only when that leaves more than `maxInFlight` in the queue. */
  private submit(job: Job): Promise<void> | undefined {
    this.queue.push(job);
    this.queued++;
    if (this.queue.length > this.maxInFlight) return this.catchUp();
  }

  private async catchUp(): Promise<void> {
    while (this.queue.length > this.maxInFlight) await this.writeOne();
  }

  /**
   * `onPosition` is told where the next block submitted will land, once the blocks before it are
   * written: right away when none is waiting. Not a job of its own, so a run of small files (one mark
   * each, a block per dozens) does not fill the queue and hold back the blocks.
   */
  private mark(onPosition: (position: number) => void): void {
    const last = this.queue.at(-1);
    if (!last) onPosition(this.position);
    else if (last.after) last.after.push(onPosition);
    else last.after = [onPosition];
  }

  private async writeOne(): Promise<void> {
    const job = this.queue.shift()!;
    const { bytes, sizeField } = await job.result;
    this.written++;
    const at = this.position;
    this.position += bytes.length;
    job.onWritten(at, sizeField);
    if (job.after) for (const onPosition of job.after) onPosition(this.position);
    if (this.waiters.length > 0) this.wakeWaiters();
    const { recycle } = job;
    await this.writes.add(bytes, at, recycle && (() => this.giveBack(recycle)));
  }

  /** Every block submitted so far is on disk: its position and size known, the file readable there. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) await this.writeOne();
    await this.writes.settle();
    this.flushed = this.written;
  }

  /**
   * `raw` to the compressor; `block`, the pooled buffer it lies in, comes back once it is written.
   * `probe`: a file's block after its first, which a sample checks first (see compressHere).
   */
  private submitBlock(
    raw: Buffer,
    onWritten: Job['onWritten'],
    block: Buffer,
    probe: boolean,
  ): Promise<void> | undefined {
    const result = this.compress(raw, probe);
    // Errors surface when the job is written; keep Node from flagging them as unhandled meanwhile.
    result.catch(() => {});
    return this.submit({ result, onWritten, recycle: block });
  }

  /**
   * Consume one file's content and return where it is stored: its chunks as they come, or all of it at
   * once when the tar reader holds it already (most files are small: no generator, no waiting).
   */
  async writeFile(content: Buffer | AsyncIterable<Buffer>, size: number): Promise<FileLayout> {
    const file = new FileInProgress(size, this.blockSize, this.staging);
    // A held file is marked when its blocks go: nothing goes in between.
    if (!file.held) this.markStart(file);
    if (Buffer.isBuffer(content)) await this.take(file, content);
    else for await (const chunk of content) await this.take(file, chunk);
    return this.endFile(file);
  }

  /** One chunk of a file into its blocks: full ones are handed to the compressor, the rest waits. */
  private take(file: FileInProgress, chunk: Buffer): Promise<void> | undefined {
    file.total += chunk.length;
    // Most chunks end inside the block being filled: a copy, nothing to wait for.
    if (file.fill + chunk.length < this.blockSize && !isHole(chunk)) {
      chunk.copy(file.block, file.fill);
      file.fill += chunk.length;
      return undefined;
    }
    return this.takeBlocks(file, chunk);
  }

  private async takeBlocks(file: FileInProgress, chunk: Buffer): Promise<void> {
    const bs = this.blockSize;
    let pos = 0;
    if (isHole(chunk)) {
      // Up to a block boundary as ordinary zeros, then whole blocks of hole.
      if (file.fill > 0) {
        pos = Math.min(bs - file.fill, chunk.length);
        file.block.fill(0, file.fill, file.fill + pos);
        file.fill += pos;
        if (file.fill === bs) await this.emitStaged(file);
      }
      for (; file.fill === 0 && chunk.length - pos >= bs; pos += bs) file.holeBlock(bs);
    }
    while (pos < chunk.length) {
      if (file.fill === 0 && chunk.length - pos >= bs) {
        // Whole block inside the chunk: hand over a copy without staging it.
        const whole = this.takeBlock();
        chunk.copy(whole, 0, pos, pos + bs);
        await this.emit(file, whole);
        pos += bs;
        continue;
      }
      const n = Math.min(bs - file.fill, chunk.length - pos);
      chunk.copy(file.block, file.fill, pos, pos + n);
      file.fill += n;
      pos += n;
      if (file.fill === bs) await this.emitStaged(file);
    }
  }

  /** The staging block is full: it goes to the compressor, and a fresh one takes its place. */
  private async emitStaged(file: FileInProgress): Promise<void> {
    await this.emit(file, file.block);
    file.block = this.staging = this.takeBlock();
    file.fill = 0;
  }

  private markStart(file: FileInProgress): void {
    this.mark((pos) => {
      file.layout.blocksStart = pos;
    });
  }

  /** A full block of the file: summed, then stored as nothing if all zeros, else held or compressed. */
  private emit(file: FileInProgress, full: Buffer): Promise<void> | undefined {
    file.blocksSum = crc32(full, file.blocksSum);
    const i = file.nextBlock();
    if (full.equals(this.zeroBlock)) {
      file.layout.blockSizes[i] = 0;
      file.layout.sparseBytes += this.blockSize;
      file.held?.push(undefined);
      this.giveBack(full);
      return undefined;
    }
    if (file.held) {
      file.held.push(full);
      return undefined;
    }
    return this.submitFileBlock(file, i, full);
  }

  private submitFileBlock(file: FileInProgress, i: number, full: Buffer): Promise<void> | undefined {
    return this.submitBlock(
      full,
      (_pos, sizeField) => {
        file.layout.blockSizes[i] = sizeField;
      },
      full,
      i > 0,
    );
  }

  /** The file's content is all in: share an earlier copy's data, or keep its blocks and store its tail. */
  private async endFile(file: FileInProgress): Promise<FileLayout> {
    const { layout, fill, total, index } = file;
    this.bytesIn += total;
    if (total !== layout.size)
      throw new Error(`a file's data came to ${total} bytes where ${layout.size} were announced`);
    const tail = file.block.subarray(0, fill);

    // Full blocks and the tail are summed apart, so files that differ only in their tail share blocks.
    // The blocks by a fast checksum, a match confirmed against the stored bytes; the tail by SHA-256.
    const blocksKey = `${file.blocksSum}:${index}`;
    const key = `${blocksKey}:${hash('sha256', tail, 'binary')}:${total}`;
    const previous = this.seen.get(key);
    if (previous && index === 0) {
      // Same content as an earlier file with no full blocks: nothing of this one was written.
      this.duplicates++;
      return previous;
    }
    const earlier = index > 0 ? this.seenBlocks.get(blocksKey) : undefined;
    // A big file's blocks are compared once both files' are on disk; a held file's before any is written.
    if (!file.held && (previous || earlier)) await this.drain();
    if (previous && (await this.sameBlocks(file, previous))) {
      // Same content as an earlier file: point at the earlier copy, dropping the blocks of this one.
      this.dropBlocks(file);
      this.duplicates++;
      return previous;
    }
    // An all-zero tail is a hole too (as tar2sqfs stores it): a sparse last block, no fragment.
    const holeTail = fill > 0 && tail.equals(this.zeroBlock.subarray(0, fill));
    layout.blockSizes = resized(layout.blockSizes, holeTail ? index + 1 : index);
    if (earlier && (await this.sameBlocks(file, earlier.layout))) {
      // The same full blocks as an earlier file (as tar2sqfs finds them): point at those, keep the tail.
      this.dropBlocks(file);
      layout.blocksStart = earlier.layout.blocksStart;
      layout.blockSizes.set(earlier.layout.blockSizes.subarray(0, index));
      layout.sparseBytes = earlier.sparseBytes;
      layout.settledAfter = earlier.layout.settledAfter;
    } else {
      if (file.held) await this.submitHeld(file);
      layout.settledAfter = this.queued;
      // Its positions and sizes are filled in as its blocks are written: read once they are on disk.
      if (index > 0 && !earlier) this.seenBlocks.set(blocksKey, { layout, sparseBytes: layout.sparseBytes });
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

  /**
   * Whether `file`'s full blocks are those stored for `stored`: a big file's as stored too (both on disk,
   * compressed alike), a held file's as they are, against the stored ones read back and decompressed.
   */
  private async sameBlocks(file: FileInProgress, stored: FileLayout): Promise<boolean> {
    if (!file.held) return sameStoredBlocks(this.fd, stored, file.layout, file.index);
    await this.onDisk(stored);
    return storedBlocksHold(this.fd, stored, file.held, this.compressor, this.blockSize);
  }

  /** Until the blocks of `layout`, a file stored earlier, are on disk, and the jobs before them. */
  private async onDisk(layout: FileLayout): Promise<void> {
    const lastJob = layout.settledAfter;
    if (this.written >= lastJob && this.flushed >= lastJob) return;
    while (this.written < lastJob) await this.writeOne();
    await this.writes.settle();
    this.flushed = this.written;
  }

  /** The file turned out to share blocks stored earlier: its own are not kept. */
  private dropBlocks(file: FileInProgress): void {
    if (!file.held) {
      // Written already: the next data goes over them.
      this.position = file.layout.blocksStart;
      return;
    }
    for (const block of file.held) if (block) this.giveBack(block);
    file.held = undefined;
  }

  /** A held file's blocks to the compressor, in order: the file is no copy. */
  private async submitHeld(file: FileInProgress): Promise<void> {
    const held = file.held!;
    file.held = undefined;
    this.markStart(file);
    for (let i = 0; i < held.length; i++) {
      const block = held[i];
      if (!block) continue;
      const wait = this.submitFileBlock(file, i, block);
      if (wait) await wait;
    }
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
      false,
    );
  }

  /** Flush the last fragment and every pending block; returns the end of the data area. */
  async finish(): Promise<number> {
    try {
      const flushed = this.flushFragment();
      // The caller finishes the tree meanwhile, on the thread that feeds the workers.
      this.compressor.sendAll();
      await flushed;
      await this.drain();
      return this.position;
    } catch (err) {
      this.fail(err);
      throw err;
    }
  }

  /**
   * Once `layout` is final, its blocks written: at once (undefined) or when the blocks before it are.
   * For the writer of the tables, while finish() writes the last blocks: files come settled in the order
   * the tar had them, and the tables ask in another, so they wait only where a file's blocks are late.
   */
  settled(layout: FileLayout): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    if (this.written >= layout.settledAfter) return undefined;
    return new Promise((resolve, reject) => {
      this.waiters.push({ jobs: layout.settledAfter, resolve, reject });
    });
  }

  /**
   * How far the data may run, at most, once every block is written: no stored block is bigger than the
   * block size (the one being written is out of the queue already). A file not settled starts before.
   */
  furthestEnd(): number {
    return this.position + (this.queue.length + 1) * this.blockSize;
  }

  private wakeWaiters(): void {
    const waiting = this.waiters;
    this.waiters = waiting.filter((w) => w.jobs > this.written);
    for (const w of waiting) if (w.jobs <= this.written) w.resolve();
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  /** On failure: wait for in-flight compression and writes so no work outlives the caller. */
  async abort(): Promise<void> {
    this.fail(new Error('the image is not written: an error stopped it'));
    await Promise.allSettled([...this.queue.map((j) => j.result), this.writes.settle()]);
    this.queue.length = 0;
  }
}
