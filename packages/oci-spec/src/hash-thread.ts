import type { Worker } from 'node:worker_threads';
import type { Digest, DigestAlgorithm } from './digest.js';
import { OciSpecError } from './errors.js';

/**
 * SHA-256 of a blob costs its thread ~0.7 ms a MiB. A copy that verifies, re-encodes or encrypts
 * a layer hashes it two or three times, and on the main thread those passes leave the other cores
 * idle. Large content is hashed on one helper thread instead: the main thread only copies each
 * MiB into a message (~0.05 ms). Small content stays in-thread: starting the thread costs more.
 */
export const OFF_THREAD_BYTES = 16 << 20;

/** Bytes handed to the thread and not yet hashed, per hash, before its producer waits. */
const WINDOW_BYTES = 4 << 20;
const BATCH_BYTES = 1 << 20;

// The thread's whole program: one hash per id, fed in order, its digest sent back at the end.
const PROGRAM = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'update') {
    let hash = hashes.get(m.id);
    if (!hash) hashes.set(m.id, (hash = createHash(m.algorithm)));
    hash.update(m.chunk);
    parentPort.postMessage({ id: m.id, hashed: m.chunk.byteLength, chunk: m.chunk }, [m.chunk.buffer]);
  } else if (m.op === 'digest') {
    const hash = hashes.get(m.id) ?? createHash(m.algorithm);
    hashes.delete(m.id);
    parentPort.postMessage({ id: m.id, digest: hash.digest('hex') });
  } else hashes.delete(m.id);
});
`;

interface Reply {
  id: number;
  hashed?: number;
  /** The batch's memory, handed back to be filled again: nothing is allocated once running. */
  chunk?: Uint8Array<ArrayBuffer>;
  digest?: string;
}

/** Batches back from the thread, for the next ones (a few windows' worth at most). */
const spare: ArrayBuffer[] = [];
const MAX_SPARE = 16;

/** The helper thread, started by the first large hash; it never keeps the process alive idle. */
class HashThread {
  // node:worker_threads loads with the first thread: every command imports this module, few hash
  // off-thread, and loading it costs ~2 ms of each start.
  readonly #worker: Worker = new (process.getBuiltinModule('node:worker_threads').Worker)(PROGRAM, {
    eval: true,
  });
  readonly #listeners = new Map<number, (reply: Reply) => void>();
  #nextId = 1;
  #failure: Error | undefined;

  constructor() {
    this.#worker.unref();
    this.#worker.on('message', (reply: Reply) => {
      if (reply.chunk && spare.length < MAX_SPARE) spare.push(reply.chunk.buffer);
      this.#listeners.get(reply.id)?.(reply);
    });
    const fail = (error: Error) => {
      this.#failure = new OciSpecError('UNSUPPORTED', `the hashing thread stopped: ${error.message}`);
      for (const listener of this.#listeners.values()) listener({ id: 0 });
      if (thread === this) thread = undefined;
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
  }

  get failure(): Error | undefined {
    return this.#failure;
  }

  open(listener: (reply: Reply) => void): number {
    const id = this.#nextId++;
    this.#listeners.set(id, listener);
    // Someone waits for an answer: the thread must keep the process alive until it comes.
    if (this.#listeners.size === 1) this.#worker.ref();
    return id;
  }

  close(id: number): void {
    this.#listeners.delete(id);
    if (this.#listeners.size === 0) this.#worker.unref();
  }

  post(message: object, transfer?: ArrayBuffer[]): void {
    this.#worker.postMessage(message, transfer);
  }
}

let thread: HashThread | undefined;
/** Marks the async flows that `withHashThread` runs; made at its first call (start-up pays nothing). */
let scope: import('node:async_hooks').AsyncLocalStorage<true> | undefined;

/**
 * Runs `work` with its large hashes on the helper thread: every digest opened in its async flow
 * (the sources it verifies, the diff_ids it checks, the blobs it stores). Worth it where the main
 * thread is what the work waits for (layers re-encoded, merged, filtered, encrypted); a plain copy
 * waits on the network or the disk, and keeps hashing in-thread even in the same process (a server
 * whose earlier request transformed layers).
 */
export function withHashThread<T>(work: () => T): T {
  scope ??= new (process.getBuiltinModule('node:async_hooks').AsyncLocalStorage)<true>();
  return scope.run(true, work);
}

/** Whether a hash of `expectedBytes` (undefined: not known) goes to the helper thread. */
export function hashesOffThread(expectedBytes: number | undefined): boolean {
  if (!scope?.getStore()) return false;
  // Content of unknown size goes where large content already went.
  return expectedBytes === undefined ? thread !== undefined : expectedBytes >= OFF_THREAD_BYTES;
}

/**
 * An incremental digest computed on the helper thread; `update` as a Digester's (the bytes are
 * copied, so the caller may reuse its buffer), `drained()` to wait while too much is in flight,
 * `digest()` when done.
 */
export class OffThreadDigester {
  readonly algorithm: DigestAlgorithm;
  readonly #thread: HashThread;
  readonly #id: number;
  #size = 0;
  #inFlight = 0;
  #batch: Uint8Array<ArrayBuffer> | undefined;
  #batchBytes = 0;
  #wake: (() => void) | undefined;
  #finish: ((hex: string | undefined) => void) | undefined;
  #closed = false;

  constructor(algorithm: DigestAlgorithm = 'sha256') {
    this.algorithm = algorithm;
    thread ??= new HashThread();
    this.#thread = thread;
    this.#id = thread.open((reply) => {
      if (reply.hashed !== undefined) this.#inFlight -= reply.hashed;
      else this.#finish?.(reply.digest);
      if (reply.id === 0 || this.#inFlight <= WINDOW_BYTES) this.#wake?.();
    });
  }

  get size(): number {
    return this.#size;
  }

  update(chunk: Uint8Array): void {
    this.#size += chunk.byteLength;
    let offset = 0;
    while (offset < chunk.byteLength) {
      this.#batch ??= new Uint8Array(spare.pop() ?? new ArrayBuffer(BATCH_BYTES));
      const n = Math.min(BATCH_BYTES - this.#batchBytes, chunk.byteLength - offset);
      this.#batch.set(chunk.subarray(offset, offset + n), this.#batchBytes);
      this.#batchBytes += n;
      offset += n;
      if (this.#batchBytes === BATCH_BYTES) this.#send();
    }
  }

  /** Undefined while few bytes are in flight; else resolves once the thread has caught up. */
  drained(): Promise<void> | undefined {
    if (this.#inFlight <= WINDOW_BYTES && !this.#thread.failure) return undefined;
    return this.#catchUp();
  }

  async #catchUp(): Promise<void> {
    while (this.#inFlight > WINDOW_BYTES && !this.#thread.failure) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
    if (this.#thread.failure) throw this.#thread.failure;
  }

  async digest(): Promise<Digest> {
    this.#send();
    // A thread that already stopped would never answer: fail now instead of waiting for ever.
    const hex = this.#thread.failure
      ? undefined
      : await new Promise<string | undefined>((resolve) => {
          this.#finish = resolve;
          this.#thread.post({ op: 'digest', id: this.#id, algorithm: this.algorithm });
        });
    this.#close();
    if (hex === undefined)
      throw this.#thread.failure ?? new OciSpecError('UNSUPPORTED', 'no digest came back');
    return `${this.algorithm}:${hex}`;
  }

  /** Forgets the hash (the stream failed): nothing is waited for. */
  discard(): void {
    if (this.#closed) return;
    this.#thread.post({ op: 'discard', id: this.#id });
    this.#close();
  }

  #close(): void {
    this.#closed = true;
    this.#batch = undefined;
    this.#thread.close(this.#id);
  }

  #send(): void {
    if (this.#batchBytes === 0 || !this.#batch) return;
    // The batch's own memory goes to the thread (no copy); the next batch is a new buffer.
    const chunk = new Uint8Array(this.#batch.buffer, 0, this.#batchBytes);
    this.#thread.post({ op: 'update', id: this.#id, algorithm: this.algorithm, chunk }, [this.#batch.buffer]);
    this.#inFlight += this.#batchBytes;
    this.#batch = undefined;
    this.#batchBytes = 0;
  }
}
