import { write } from 'node:fs';

/**
 * Writes at known offsets on libuv's threads, a few at a time, so the main thread goes on reading the
 * tar meanwhile instead of waiting in the kernel: a third of a second per gigabyte stored.
 */
export class BackgroundWrites {
  private readonly fd: number;
  private readonly limit: number;
  private readonly pending = new Set<Promise<void>>();
  private failure: Error | undefined;

  constructor(fd: number, limit: number) {
    this.fd = fd;
    this.limit = limit;
  }

  /**
   * Starts writing `bytes` at `position`; `done` runs once they are written, so their buffer can be
   * reused. Waits while `limit` writes are under way; throws the error of one that failed.
   */
  async add(bytes: Uint8Array, position: number, done?: () => void): Promise<void> {
    this.throwIfFailed();
    const writing = writeFully(this.fd, bytes, position).then(done, (err: Error) => {
      this.failure ??= err;
    });
    this.pending.add(writing);
    void writing.then(() => this.pending.delete(writing));
    while (this.pending.size >= this.limit) await Promise.race(this.pending);
    this.throwIfFailed();
  }

  /** Waits for every write under way; throws the error of one that failed. */
  async settle(): Promise<void> {
    await Promise.all(this.pending);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}

function writeFully(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const from = (offset: number): void => {
      write(fd, bytes, offset, bytes.length - offset, position + offset, (err, written) => {
        if (err) reject(err);
        else if (offset + written < bytes.length) from(offset + written);
        else resolve();
      });
    };
    from(0);
  });
}
