import { type Readable, Transform, type TransformCallback } from 'node:stream';
import type { Descriptor } from './descriptor.js';
import { type DigestAlgorithm, Digester, parseDigest } from './digest.js';
import { OciSpecError } from './errors.js';

const BATCH_BYTES = 1 << 20;

/**
 * A pass-through that hashes every byte and fails the stream when the content does not match
 * the descriptor: more bytes than its size at once, and a wrong size or digest at the end.
 * Whoever consumes it must commit nothing until the stream has ended without error.
 */
export class VerifyingStream extends Transform {
  /** Called with the running byte count as content passes: for progress displays. */
  onBytes?: (bytes: number) => void;
  readonly #expected: Pick<Descriptor, 'digest' | 'size'>;
  readonly #digester: Digester;
  #received = 0;
  #batched = 0;
  #batch: Buffer | undefined;
  #batchBytes = 0;

  constructor(expected: Pick<Descriptor, 'digest' | 'size'>) {
    super({ highWaterMark: 1 << 20 });
    this.#expected = expected;
    this.#digester = new Digester(parseDigest(expected.digest).algorithm as DigestAlgorithm);
  }

  /** Bytes that passed so far. */
  get bytes(): number {
    return this.#received;
  }

  /** True when this stream already checks exactly the content the descriptor names. */
  verifies(desc: Pick<Descriptor, 'digest' | 'size'>): boolean {
    return desc.digest === this.#expected.digest && desc.size === this.#expected.size;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#received += chunk.byteLength;
    if (this.#received > this.#expected.size) {
      callback(sizeError(this.#expected, `more than ${this.#expected.size} bytes`));
      return;
    }
    let offset = 0;
    while (offset < chunk.byteLength) {
      this.#batch ??= Buffer.allocUnsafe(Math.min(BATCH_BYTES, this.#expected.size - this.#batched));
      const n = Math.min(this.#batch.byteLength - this.#batchBytes, chunk.byteLength - offset);
      chunk.copy(this.#batch, this.#batchBytes, offset, offset + n);
      this.#batchBytes += n;
      offset += n;
      if (this.#batchBytes === this.#batch.byteLength) this.#emitBatch();
    }
    this.onBytes?.(this.#received);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.#emitBatch();
    if (this.#received !== this.#expected.size) {
      callback(sizeError(this.#expected, `${this.#received} of ${this.#expected.size} bytes (truncated)`));
      return;
    }
    const actual = this.#digester.digest();
    if (actual !== this.#expected.digest) {
      callback(
        new OciSpecError(
          'DIGEST_INVALID',
          `content of ${this.#expected.digest} hashes to ${actual}: the source served corrupt or different bytes; nothing was kept`,
          this.#expected.digest,
        ),
      );
      return;
    }
    callback();
  }

  /**
   * Network reads arrive in chunks of 16–64 KiB; hashing and writing them one by one costs twice
   * the CPU of doing it per MiB, so they are gathered into batches that are hashed and passed on.
   */
  #emitBatch(): void {
    if (!this.#batch || this.#batchBytes === 0) return;
    const batch = this.#batch.subarray(0, this.#batchBytes);
    this.#digester.update(batch);
    this.#batched += batch.byteLength;
    this.#batch = undefined;
    this.#batchBytes = 0;
    this.push(batch);
  }
}

function sizeError(expected: Pick<Descriptor, 'digest'>, got: string): OciSpecError {
  return new OciSpecError(
    'SIZE_INVALID',
    `content of ${expected.digest}: got ${got}; the source served a wrong or truncated blob; nothing was kept`,
    expected.digest,
  );
}

/**
 * The content as a stream that fails unless it matches the descriptor. A stream that already
 * verifies the same descriptor is returned as is, so bytes are hashed once on their way.
 */
export function ensureVerified(
  content: Readable,
  desc: Pick<Descriptor, 'digest' | 'size'>,
): VerifyingStream {
  if (content instanceof VerifyingStream && content.verifies(desc)) return keepErrorForConsumer(content);
  const verifier = new VerifyingStream(desc);
  content.on('error', (error) => verifier.destroy(error));
  // A failed or abandoned verification releases the source (a socket, a file) at once.
  verifier.on('close', () => content.destroy());
  return keepErrorForConsumer(content.pipe(verifier));
}

/**
 * A small blob can be verified (and fail) before its consumer attaches. The stream keeps the
 * error as its `errored` state, which `pipeline` and async iteration report; the listener only
 * stops Node from treating that early error as unhandled and ending the process.
 */
function keepErrorForConsumer(stream: VerifyingStream): VerifyingStream {
  stream.on('error', () => {});
  return stream;
}
