import { parentPort, workerData } from 'node:worker_threads';
import type { CodecSpec, CompressionJob, CompressionReply } from './compression-pool.js';
import { compressHere, compressHereSync, createCodec } from './compressor.js';

/** A compression worker: blocks come in one message each, in shared memory; lengths go back in order. */
const { name, level, blockSize } = workerData as CodecSpec;
const codec = createCodec(name, level, blockSize);
const port = parentPort!;
/** A codec with an asynchronous path (xz) takes it; the others answer each block at once. */
const asynchronous = codec.compressAsync !== undefined;
/** One block at a time even for an asynchronous codec, so the answers keep the order of the jobs. */
let previous: Promise<void> = Promise.resolve();

const answer = (reply: CompressionReply): void => port.postMessage(reply);
const failure = (err: unknown): CompressionReply => ({ error: (err as Error).message });

port.on('message', ({ block, probe }: CompressionJob) => {
  if (asynchronous) {
    previous = previous.then(() =>
      compressHere(codec, block, probe).then(answer, (err) => answer(failure(err))),
    );
    return;
  }
  let reply: CompressionReply;
  try {
    reply = compressHereSync(codec, block, probe)!;
  } catch (err) {
    reply = failure(err);
  }
  answer(reply);
});
