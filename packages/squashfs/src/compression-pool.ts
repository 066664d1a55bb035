import { Worker } from 'node:worker_threads';
import { builtWorkerScript } from './worker-script.js';

/** What a compression worker builds its codec from. */
export interface CodecSpec {
  name: string;
  level: number | undefined;
  blockSize: number;
}

/** One block for a worker: a view over a SharedArrayBuffer, read and written in place. */
export interface CompressionJob {
  block: Uint8Array;
  /** Not the first block of its file: check cheaply first whether it compresses at all. */
  probe: boolean;
}

/** A worker's answer: the compressed length (those bytes now start the block), -1 when it would not shrink, or an error. */
export type CompressionReply = number | { error: string };

/**
 * Answers a worker sends together: each message wakes this thread, and each wake takes a core from a
 * worker in the middle of a block (two workers on two cores: some 12,000 times a gigabyte, one per block).
 */
export const ANSWERS_PER_MESSAGE = 4;
/**
 * Blocks handed to one worker at once: more than it answers together, so it still has blocks to
 * compress while its answers travel and new blocks come.
 */
const PER_WORKER = 2 * ANSWERS_PER_MESSAGE;

/**
 * The workers' own young generation: small, so the buffers zlib allocates for each block are collected
 * within a few blocks instead of piling up to V8's external-memory limit in every thread.
 */
const WORKER_YOUNG_GENERATION_MB = 1;

interface Pending {
  job: CompressionJob;
  resolve(length: number): void;
  reject(error: unknown): void;
}

interface Slot {
  worker: Worker;
  /** Jobs sent to this worker, answered in the order sent. */
  sent: Pending[];
}

/**
 * Compresses data blocks on worker threads that run their codec synchronously: one small message each
 * way per block, and no copies, since the blocks live in shared memory.
 */
export class CompressionPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: Pending[] = [];
  private failure: Error | undefined;

  /** undefined when the worker script is not built (the sources run without dist/). */
  static start(spec: CodecSpec, size: number): CompressionPool | undefined {
    const script = builtWorkerScript(import.meta.url, 'compression-worker.js');
    return script ? new CompressionPool(script, spec, size) : undefined;
  }

  private constructor(script: string, spec: CodecSpec, size: number) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(script, {
        workerData: spec,
        execArgv: [], // the parent's flags (say --input-type) may not apply to a script file
        resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
      });
      worker.unref(); // referenced only while it has work, so an idle pool never holds the process
      const slot: Slot = { worker, sent: [] };
      worker.on('message', (replies: CompressionReply[]) => {
        for (const reply of replies) this.answer(slot, reply);
        this.dispatch();
      });
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => this.fail(new Error(`a compression worker stopped (exit code ${code})`)));
      this.slots.push(slot);
    }
  }

  compressInPlace(block: Uint8Array, probe: boolean): Promise<number> {
    if (!(block.buffer instanceof SharedArrayBuffer)) {
      return Promise.reject(new TypeError('compression pool blocks must be views of a SharedArrayBuffer'));
    }
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ job: { block, probe }, resolve, reject });
      this.dispatch();
    });
  }

  /**
   * Hands every waiting block to a worker now, each to the one with the fewest: the caller is about to
   * be busy for a while, and the workers must not run dry meanwhile (they are fed from its thread).
   */
  sendAll(): void {
    while (this.waiting.length > 0) {
      const slot = this.slots.reduce((a, b) => (b.sent.length < a.sent.length ? b : a));
      this.send(slot, this.waiting.shift()!);
    }
  }

  private send(slot: Slot, pending: Pending): void {
    if (slot.sent.length === 0) slot.worker.ref();
    slot.sent.push(pending);
    slot.worker.postMessage(pending.job);
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      while (slot.sent.length < PER_WORKER && this.waiting.length > 0) this.send(slot, this.waiting.shift()!);
    }
  }

  private answer(slot: Slot, reply: CompressionReply): void {
    const pending = slot.sent.shift();
    if (slot.sent.length === 0) slot.worker.unref();
    if (!pending) return;
    if (typeof reply === 'number') pending.resolve(reply);
    else pending.reject(new Error(`cannot compress a block: ${reply.error}`));
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.close();
  }

  /** Stops the workers; blocks not answered yet fail with the reason, rather than wait for ever. */
  close(): void {
    this.failure ??= new Error('the compression pool is closed');
    for (const pending of [...this.waiting.splice(0), ...this.slots.flatMap((s) => s.sent.splice(0))]) {
      pending.reject(this.failure);
    }
    for (const { worker } of this.slots) {
      worker.removeAllListeners('exit');
      void worker.terminate();
    }
  }
}
