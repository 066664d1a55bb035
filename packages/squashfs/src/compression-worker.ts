import { parentPort, workerData } from 'node:worker_threads';
import type { CodecSpec, CompressionJob, CompressionReply } from './compression-pool.js';
import { compressHere, createCodec } from './compressor.js';

/** A compression worker: blocks come in one message each, in shared memory; lengths go back in order. */
const { name, level, blockSize } = workerData as CodecSpec;
const codec = createCodec(name, level, blockSize);
const port = parentPort!;
/** One block at a time even for an asynchronous codec, so the answers keep the order of the jobs. */
let previous: Promise<void> = Promise.resolve();

port.on('message', ({ block, probe }: CompressionJob) => {
  previous = previous.then(async () => {
    let reply: CompressionReply;
    try {
      reply = await compressHere(codec, block, probe);
    } catch (err) {
      reply = { error: (err as Error).message };
    }
    port.postMessage(reply);
  });
});
