import { type Readable, Transform, type TransformCallback } from 'node:stream';
import type { Descriptor } from './descriptor.js';
import { computeDigest, type DigestAlgorithm, openDigester, parseDigest, passWhenDrained } from './digest.js';
import { OciSpecError } from './errors.js';
import { pipeInto } from './pipe-into.js';

/**
 * A pass-through that hashes every byte and fails the stream when the content does not match
 * the descriptor: more bytes than its size at once, and a wrong size or digest at the end.
 * Whoever consumes it must commit nothing until the stream has ended without error.
 */
export class VerifyingStream extends Transform {
  /** Called with the running byte count as content passes: for progress displays. */
  onBytes?: (bytes: number) => void;
  readonly #expected: Pick<Descriptor, 'digest' | 'size'>;
  readonly #digester: ReturnType<typeof openDigester>;

  constructor(expected: Pick<Descriptor, 'digest' | 'size'>) {
    // A shallow queue (Node's default 64 KiB): chunks that wait longer live through a young
    // collection and are then freed only by a full one; a copy of 1 GB held 20-30 MiB more with
    // 1 MiB here.
    super({ highWaterMark: 64 * 1024 });
    this.#expected = expected;
    this.#digester = openDigester(parseDigest(expected.digest).algorithm as DigestAlgorithm, expected.size);
  }

  /** Bytes that passed so far. */
  get bytes(): number {
    return this.#digester.size;
  }

  /** True when this stream already checks exactly the content the descriptor names. */
  verifies(desc: Pick<Descriptor, 'digest' | 'size'>): boolean {
    return desc.digest === this.#expected.digest && desc.size === this.#expected.size;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#digester.update(chunk);
    if (this.#digester.size > this.#expected.size) {
      callback(sizeError(this.#expected, `more than ${this.#expected.size} bytes`));
      return;
    }
    this.onBytes?.(this.#digester.size);
    // Chunks pass on as they came: copying them into new batches would fault in fresh memory
    // for every byte (the Digester batches into one reused buffer for hashing instead).
    passWhenDrained(this.#digester, chunk, callback);
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    this.#digester.discard();
    callback(error);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#digester.size !== this.#expected.size) {
      callback(
        sizeError(this.#expected, `${this.#digester.size} of ${this.#expected.size} bytes (truncated)`),
      );
      return;
    }
    Promise.resolve(this.#digester.digest()).then((actual) => {
      callback(actual === this.#expected.digest ? undefined : digestError(this.#expected, actual));
    }, callback);
  }
}

/**
 * Small content read whole (see `SmallContentReader`), checked as a VerifyingStream checks it:
 * the same errors for a wrong size or digest.
 */
export function verifyBytes(bytes: Uint8Array, expected: Pick<Descriptor, 'digest' | 'size'>): Uint8Array {
  if (bytes.byteLength !== expected.size) {
    throw sizeError(
      expected,
      bytes.byteLength > expected.size
        ? `more than ${expected.size} bytes`
        : `${bytes.byteLength} of ${expected.size} bytes (truncated)`,
    );
  }
  const actual = computeDigest(bytes, parseDigest(expected.digest).algorithm);
  if (actual !== expected.digest) throw digestError(expected, actual);
  return bytes;
}

function digestError(expected: Pick<Descriptor, 'digest'>, actual: string): OciSpecError {
  return new OciSpecError(
    'DIGEST_INVALID',
    `content of ${expected.digest} hashes to ${actual}: the source served corrupt or different bytes; nothing was kept`,
    expected.digest,
  );
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
  return keepErrorForConsumer(pipeInto(content, new VerifyingStream(desc)));
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
