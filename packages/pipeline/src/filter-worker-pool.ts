import { availableParallelism } from 'node:os';
import { PassThrough } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import type { LayerEncoding, SourceLayer, TransformContext, TransformedLayer } from '@concil/image';
import { type Descriptor, type Digest, layerKindOf } from '@concil/oci-spec';
import { builtWorkerScript } from '@concil/squashfs/worker-script';
import type { FilterRecipe } from './filter-recipe.js';
import {
  type FilterJob,
  type FromWorker,
  receivedChunk,
  revivedError,
  SendWindow,
  sendChunk,
  type ToWorker,
} from './filter-worker-protocol.js';

/**
 * Whether a layer can be rewritten on a filter worker: the worker script is built (the sources
 * run without it in development), every filter has a recipe, and the layer is a tar, plain or
 * compressed (squashfs is read and written through files, encrypted layers are refused anyway).
 */
export function workerRecipes(
  filters: readonly { recipe?: FilterRecipe }[],
  source: SourceLayer,
): FilterRecipe[] | undefined {
  const kind = layerKindOf(source.descriptor.mediaType);
  if (!kind || kind.encrypted || kind.compression === 'squashfs' || !script()) return undefined;
  const recipes = filters.flatMap((filter) => (filter.recipe ? [filter.recipe] : []));
  return recipes.length === filters.length ? recipes : undefined;
}

/**
 * Rewrites a layer on a filter worker, so that the thread which drives the copy keeps to reading
 * the source and storing the result: the tar's parsing and writing, the new diff_id's hash and the
 * garbage of all the buffers in between run beside it, on a pool of one worker per CPU (a layer
 * waits for a free one: more would only share the same CPUs, each holding its own buffers). This
 * thread reads the verified source and hands its bytes over; the worker hands the new blob's
 * bytes back, which go to `ingest` here. The same bytes come out as from `rewriteLayer` here.
 */
export async function rewriteOnWorker(
  source: SourceLayer,
  recipes: FilterRecipe[],
  context: TransformContext,
  encoding: LayerEncoding,
): Promise<TransformedLayer> {
  const worker = await takeWorker(context.signal);
  const { port1: port, port2 } = new (workerThreads().MessageChannel)();
  const send = (message: ToWorker) => port.postMessage(message);
  const job: FilterJob = { descriptor: source.descriptor, recipes, encoding };
  worker.postMessage({ job, port: port2 }, [port2]);

  const window = new SendWindow();
  const blob = new PassThrough({ highWaterMark: 1 << 20 });
  // Its error is the job's, told through `failure`; before `ingest` reads it, nobody else listens.
  blob.on('error', () => {});
  let failure: { error: unknown } | undefined;
  let stored: Promise<Descriptor> | undefined;
  let done!: (diffId: string) => void;
  let failed!: (error: unknown) => void;
  const finished = new Promise<string>((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  finished.catch(() => {}); // awaited below; its failure is told through `fail` first
  const fail = (error: unknown) => {
    if (failure) return;
    failure = { error };
    window.close(error);
    blob.destroy(error as Error);
    failed(error);
  };
  port.on('message', (message: FromWorker) => {
    switch (message.type) {
      case 'ingest':
        stored = context.ingest(message.mediaType, blob);
        stored.catch(fail);
        break;
      case 'data': {
        const chunk = receivedChunk(message.chunk);
        blob.write(chunk, () => send({ type: 'ack', bytes: chunk.byteLength }));
        break;
      }
      case 'ack':
        window.give(message.bytes);
        break;
      case 'done':
        blob.end();
        done(message.diffId);
        break;
      case 'error':
        fail(revivedError(message.error));
    }
  });
  const crashed = (error: Error) => fail(error);
  const stopped = (code: number) => fail(new Error(`the filter worker stopped (exit code ${code})`));
  worker.on('error', crashed);
  worker.on('exit', stopped);
  const aborted = () => fail(context.signal.reason);
  context.signal.addEventListener('abort', aborted, { once: true });

  const feeding = (async () => {
    const input = await source.open();
    try {
      // The source's buffers are not ours to move: copied into batches of our own, which move.
      let batch = new Uint8Array(INPUT_BATCH);
      let filled = 0;
      const sendBatch = async () => {
        await window.take(filled);
        sendChunk(port, batch.subarray(0, filled), true);
        batch = new Uint8Array(INPUT_BATCH);
        filled = 0;
      };
      for await (const chunk of input as AsyncIterable<Buffer>) {
        for (let offset = 0; offset < chunk.byteLength; ) {
          const length = Math.min(chunk.byteLength - offset, INPUT_BATCH - filled);
          batch.set(chunk.subarray(offset, offset + length), filled);
          filled += length;
          offset += length;
          if (filled === INPUT_BATCH) await sendBatch();
        }
      }
      if (filled > 0) await sendBatch();
      send({ type: 'end' });
    } finally {
      input.destroy();
    }
  })();
  feeding.catch(fail);

  try {
    const [diffId] = await Promise.all([finished, feeding]);
    if (!stored) throw new Error(`the filter worker made no blob for layer ${source.descriptor.digest}`);
    const descriptor = await stored;
    return { descriptor, diffId: diffId as Digest };
  } catch (error) {
    throw failure ? failure.error : error;
  } finally {
    context.signal.removeEventListener('abort', aborted);
    worker.off('error', crashed);
    worker.off('exit', stopped);
    port.close();
    // A worker stopped mid-job is not trusted with the next one.
    if (failure) void worker.terminate();
    else giveBack(worker);
  }
}

/**
 * The source's bytes go to the worker in messages of 1 MiB, whatever the size of its reads (a
 * local file's are 256 KiB): each message costs both threads a wake and an answer.
 */
const INPUT_BATCH = 1 << 20;

/**
 * Workers at most, one per CPU: each keeps a CPU busy (the tar on its thread, zlib on libuv's
 * pool), and each more only adds its heap and the buffers it has not yet collected.
 */
const POOL_SIZE = availableParallelism();

/** Workers without a job, kept for the next layer (unreferenced: they never hold the process). */
const idle: Worker[] = [];
/** Jobs waiting for a worker, first come first served. */
const waiting: ((worker: Worker) => void)[] = [];
let started = 0;

/** node:worker_threads, loaded with the first job: commands that filter nothing never pay ~2 ms for it. */
const workerThreads = () => process.getBuiltinModule('node:worker_threads');

function script(): string | undefined {
  return builtWorkerScript(import.meta.url, 'filter-worker.js');
}

async function takeWorker(signal: AbortSignal): Promise<Worker> {
  signal.throwIfAborted();
  const worker = idle.pop() ?? (started < POOL_SIZE ? startWorker() : await freedWorker(signal));
  worker.ref();
  return worker;
}

/** The next worker a job gives back (or a new one in place of a worker that stopped). */
function freedWorker(signal: AbortSignal): Promise<Worker> {
  return new Promise((resolve, reject) => {
    const aborted = () => {
      waiting.splice(waiting.indexOf(take), 1);
      reject(signal.reason);
    };
    const take = (worker: Worker) => {
      signal.removeEventListener('abort', aborted);
      resolve(worker);
    };
    signal.addEventListener('abort', aborted, { once: true });
    waiting.push(take);
  });
}

function startWorker(): Worker {
  const worker = new (workerThreads().Worker)(script()!, {
    execArgv: [], // the parent's flags (say --input-type) may not apply to a script file
  });
  // A job listens for its worker's failures; one that fails without a job is only dropped.
  worker.on('error', () => {});
  started += 1;
  worker.once('exit', () => {
    started -= 1;
    const at = idle.indexOf(worker);
    if (at >= 0) idle.splice(at, 1);
    waiting.shift()?.(startWorker());
  });
  return worker;
}

function giveBack(worker: Worker): void {
  const next = waiting.shift();
  if (next) {
    next(worker);
    return;
  }
  worker.unref();
  idle.push(worker);
}
