import { Transform, type TransformCallback } from 'node:stream';
import { type Digest, type DigestAlgorithm, openDigester, passWhenDrained } from './digest.js';
import { OciSpecError } from './errors.js';

/**
 * A pass-through that hashes every byte, for content whose digest is known only at its end (a
 * transform's output, an uncompressed layer): `digest` and `size` once the stream has ended.
 */
export class DigestingStream extends Transform {
  readonly #digester: ReturnType<typeof openDigester>;
  #digest: Digest | undefined;

  constructor(algorithm: DigestAlgorithm = 'sha256') {
    super({ highWaterMark: 1 << 20 });
    this.#digester = openDigester(algorithm);
  }

  /** Bytes that passed so far. */
  get size(): number {
    return this.#digester.size;
  }

  /** The digest of everything that passed; asking before the end is a mistake of the caller. */
  get digest(): Digest {
    if (!this.#digest) {
      throw new OciSpecError('UNSUPPORTED', 'the digest of a stream is known only once it has ended');
    }
    return this.#digest;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#digester.update(chunk);
    passWhenDrained(this.#digester, chunk, callback);
  }

  override _flush(callback: TransformCallback): void {
    Promise.resolve(this.#digester.digest()).then((digest) => {
      this.#digest = digest;
      callback();
    }, callback);
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    this.#digester.discard();
    callback(error);
  }
}
