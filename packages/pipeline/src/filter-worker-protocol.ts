import type { MessagePort } from 'node:worker_threads';
import { ImageError, type ImageErrorCode, type LayerEncoding } from '@concil/image';
import type { Descriptor } from '@concil/oci-spec';
import { PipelineError, type PipelineErrorCode } from './errors.js';
import type { FilterRecipe } from './filter-recipe.js';

/** One layer for a filter worker: the source's descriptor and the filters, in order. */
export interface FilterJob {
  descriptor: Descriptor;
  recipes: FilterRecipe[];
  encoding: LayerEncoding;
}

/** What the calling thread sends on a job's port: the source blob's bytes, then its end. */
export type ToWorker =
  | { type: 'data'; chunk: Uint8Array }
  | { type: 'end' }
  /** So many bytes of the new blob were taken: room for more. */
  | { type: 'ack'; bytes: number };

/** What the worker sends back: the new blob's media type, its bytes, and the diff_id at its end. */
export type FromWorker =
  | { type: 'ingest'; mediaType: string }
  | { type: 'data'; chunk: Uint8Array }
  | { type: 'done'; diffId: string }
  | { type: 'error'; error: SentError }
  /** So many bytes of the source were taken: room for more. */
  | { type: 'ack'; bytes: number };

/**
 * Bytes either side may have sent and the other not yet taken: two of the compressors' 1 MiB
 * chunks, so neither waits (8 MiB ran no faster on the bench image, and held 50 MB more).
 */
export const WINDOW_BYTES = 2 << 20;

/**
 * Sends bytes in a message. A chunk that is the whole of its buffer moves (transferred, no copy)
 * when the sender owns it; any other is copied first, so no buffer that someone else may still
 * read (a pool, a stream branch) is taken from them.
 */
export function sendChunk(port: MessagePort, chunk: Uint8Array, owned: boolean): void {
  const whole =
    owned &&
    chunk.buffer instanceof ArrayBuffer &&
    chunk.byteOffset === 0 &&
    chunk.byteLength === chunk.buffer.byteLength;
  const sent = whole ? chunk : new Uint8Array(chunk);
  port.postMessage({ type: 'data', chunk: sent }, [sent.buffer as ArrayBuffer]);
}

/** A chunk received as a Buffer, without a copy. */
export function receivedChunk(chunk: Uint8Array): Buffer {
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * Bytes a sender may have in flight: `take` waits while the window is full, `give` frees room,
 * `close` ends the sending (a `take` waiting or to come throws the reason).
 */
export class SendWindow {
  #inFlight = 0;
  #waiting: (() => void) | undefined;
  #closed: { reason: unknown } | undefined;

  async take(bytes: number): Promise<void> {
    while (this.#inFlight >= WINDOW_BYTES && !this.#closed) {
      await new Promise<void>((resolve) => {
        this.#waiting = resolve;
      });
    }
    if (this.#closed) throw this.#closed.reason;
    this.#inFlight += bytes;
  }

  close(reason: unknown): void {
    this.#closed ??= { reason };
    this.give(0);
  }

  give(bytes: number): void {
    this.#inFlight -= bytes;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.();
  }
}

/** An error as a message carries it: our errors keep their class, code and subject. */
export interface SentError {
  name: string;
  message: string;
  code?: string;
  subject?: string;
}

export function sendableError(error: unknown): SentError {
  const { name, message, code, subject } = error as Partial<SentError>;
  return {
    name: name ?? 'Error',
    message: message ?? String(error),
    ...(typeof code === 'string' && { code }),
    ...(typeof subject === 'string' && { subject }),
  };
}

export function revivedError({ name, message, code, subject }: SentError): Error {
  if (name === 'ImageError') return new ImageError(code as ImageErrorCode, message, subject);
  if (name === 'PipelineError') return new PipelineError(code as PipelineErrorCode, message, subject);
  return Object.assign(new Error(message), code === undefined ? {} : { code });
}
