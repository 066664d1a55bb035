import type { TransformCallback } from 'node:stream';
import { type Descriptor, OciSpecError, VerifyingStream } from '@concil/oci-spec';
import { RegistryError } from './errors.js';

/** oci-spec's VerifyingStream, failing with a RegistryError that names the blob's reference. */
export class VerifiedBlobStream extends VerifyingStream {
  readonly #reference: string;

  constructor(expected: Pick<Descriptor, 'digest' | 'size'>, reference: string) {
    super(expected);
    this.#reference = reference;
  }

  override _transform(chunk: Buffer, encoding: BufferEncoding, callback: TransformCallback): void {
    super._transform(chunk, encoding, (error, data) => callback(this.#translate(error), data));
  }

  override _flush(callback: TransformCallback): void {
    super._flush((error, data) => callback(this.#translate(error), data));
  }

  #translate(error: Error | null | undefined): Error | null | undefined {
    if (!(error instanceof OciSpecError)) return error;
    const code = error.code === 'DIGEST_INVALID' ? 'DIGEST_INVALID' : 'SIZE_INVALID';
    return new RegistryError(code, `${this.#reference}: ${error.message}`, {
      reference: this.#reference,
      cause: error,
    });
  }
}
