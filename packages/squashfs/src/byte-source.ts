import { SquashfsError } from './errors.js';

/**
 * Pulls exact byte counts out of a chunked stream without copying more than needed.
 * Short reads at end of stream are reported to the caller, which decides if that is an error.
 */
export class ByteSource {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private chunk: Buffer = Buffer.alloc(0);
  /** Where the unread part of `chunk` starts: moved on, not sliced off (a view per header adds up). */
  private at = 0;
  private done = false;
  /** Total bytes consumed so far (for error messages). */
  consumed = 0;

  constructor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    this.iterator =
      Symbol.asyncIterator in source
        ? source[Symbol.asyncIterator]()
        : (source[Symbol.iterator]() as unknown as AsyncIterator<Uint8Array>);
  }

  /** Bytes of the current chunk not read yet. */
  private get left(): number {
    return this.chunk.length - this.at;
  }

  private async fill(): Promise<boolean> {
    while (this.left === 0) {
      if (this.done) return false;
      const next = await this.iterator.next();
      if (next.done) {
        this.done = true;
        return false;
      }
      const v = next.value;
      this.chunk = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      this.at = 0;
    }
    return true;
  }

  /**
   * The next n bytes as a view, when the current chunk holds them: no waiting, none of the promises of
   * `read`, which add up over the two headers of every entry. undefined otherwise: then `read`.
   */
  take(n: number): Buffer | undefined {
    if (this.left < n) return undefined;
    const out = this.chunk.subarray(this.at, this.at + n);
    this.at += n;
    this.consumed += n;
    return out;
  }

  /** Skip n bytes when the current chunk holds them, and say so; otherwise skip nothing: then `skip`. */
  skipHere(n: number): boolean {
    if (this.left < n) return false;
    this.at += n;
    this.consumed += n;
    return true;
  }

  /** Read up to n bytes into a fresh buffer; fewer only at end of stream. */
  async read(n: number): Promise<Buffer> {
    if ((await this.fill()) && this.left >= n) {
      const out = this.chunk.subarray(this.at, this.at + n);
      this.at += n;
      this.consumed += n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n && (await this.fill())) {
      const take = Math.min(n - got, this.left);
      this.chunk.copy(out, got, this.at, this.at + take);
      this.at += take;
      got += take;
    }
    this.consumed += got;
    return got === n ? out : out.subarray(0, got);
  }

  /** Yield the next n bytes as they arrive (views into the source's chunks); throws if the stream ends early. */
  /** `what` names the data in the error, made only when there is one. */
  async *stream(n: number, what: () => string): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (!(await this.fill())) {
        throw new SquashfsError(
          'TAR_TRUNCATED',
          `tar stream ends ${left} bytes before the end of ${what()}: the archive is truncated`,
        );
      }
      const take = Math.min(left, this.left);
      const out = this.chunk.subarray(this.at, this.at + take);
      this.at += take;
      left -= take;
      this.consumed += take;
      yield out;
    }
  }

  /** Skip up to n bytes; returns how many were skipped (fewer only at end of stream). */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0 && (await this.fill())) {
      const take = Math.min(left, this.left);
      this.at += take;
      left -= take;
    }
    this.consumed += n - left;
    return n - left;
  }

  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.iterator.return?.();
    }
  }
}
