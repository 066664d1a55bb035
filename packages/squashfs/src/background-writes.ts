import { writev } from 'node:fs';

/** Blocks that follow one another on disk go out in one system call up to this many bytes. */
const BATCH_BYTES = 1 << 20;
/**
 * And up to this many pieces: each holds its buffer until written, however small it came out (a block
 * of zeros compresses to a few bytes), so the buffers a batch holds stay few.
 */
export const BATCH_PIECES = 8;

interface Batch {
  buffers: Uint8Array[];
  position: number;
  length: number;
  done: (() => void)[];
}

/**
 * Writes at known offsets on libuv's threads, a few at a time, so the main thread goes on reading the
 * tar meanwhile instead of waiting in the kernel: a third of a second per gigabyte stored. Pieces that
 * continue one another are gathered into one write of up to a megabyte: each write wakes a libuv
 * thread, which takes the core from the main thread for as long as the write lasts.
 */
export class BackgroundWrites {
  private readonly fd: number;
  private readonly limit: number;
  private readonly pending = new Set<Promise<void>>();
  private batch: Batch | undefined;
  private failure: Error | undefined;

  constructor(fd: number, limit: number) {
    this.fd = fd;
    this.limit = limit;
  }

  /**
   * Writes `bytes` at `position`, soon: they may wait for the pieces that follow them. `done` runs once
   * they are written, so their buffer can be reused. Waits while `limit` writes are under way; throws
   * the error of one that failed.
   */
  async add(bytes: Uint8Array, position: number, done?: () => void): Promise<void> {
    this.throwIfFailed();
    const batch = this.batch;
    if (
      batch &&
      batch.position + batch.length === position &&
      batch.length + bytes.length <= BATCH_BYTES &&
      batch.buffers.length < BATCH_PIECES
    ) {
      batch.buffers.push(bytes);
      batch.length += bytes.length;
      if (done) batch.done.push(done);
      return;
    }
    this.batch = { buffers: [bytes], position, length: bytes.length, done: done ? [done] : [] };
    if (batch) await this.start(batch);
  }

  /** Writes what is gathered, and waits for every write under way; throws the error of one that failed. */
  async settle(): Promise<void> {
    const batch = this.batch;
    this.batch = undefined;
    if (batch) await this.start(batch);
    await Promise.all(this.pending);
    this.throwIfFailed();
  }

  private async start(batch: Batch): Promise<void> {
    const writing = writeFully(this.fd, batch.buffers, batch.position).then(
      () => {
        for (const done of batch.done) done();
      },
      (err: Error) => {
        this.failure ??= err;
      },
    );
    this.pending.add(writing);
    void writing.then(() => this.pending.delete(writing));
    while (this.pending.size >= this.limit) await Promise.race(this.pending);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}

/** Every byte of `buffers` written from `position` on, however the system splits the writes. */
function writeFully(fd: number, buffers: Uint8Array[], position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const from = (rest: Uint8Array[], at: number): void => {
      writev(fd, rest, at, (err, written) => {
        if (err) return reject(err);
        let left = written;
        let i = 0;
        while (i < rest.length && left >= rest[i]!.byteLength) left -= rest[i++]!.byteLength;
        if (i === rest.length) return resolve();
        from([rest[i]!.subarray(left), ...rest.slice(i + 1)], at + written);
      });
    };
    from(buffers, position);
  });
}
