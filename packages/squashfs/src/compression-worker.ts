import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import {
  ANSWERS_PER_MESSAGE,
  type CodecSpec,
  type CompressionJob,
  type CompressionReply,
} from './compression-pool.js';
import { compressHere, compressHereSync, createCodec } from './compressor.js';

/** A compression worker: blocks come in one message each, in shared memory; lengths go back in order. */
const { name, level, blockSize } = workerData as CodecSpec;
const codec = createCodec(name, level, blockSize);
const port = parentPort!;
/** A codec with an asynchronous path (xz) takes it; the others answer each block at once. */
const asynchronous = codec.compressAsync !== undefined;
/** One block at a time even for an asynchronous codec, so the answers keep the order of the jobs. */
let previous: Promise<void> = Promise.resolve();

const failure = (err: unknown): CompressionReply => ({ error: (err as Error).message });

/**
 * Blocks waiting on the port are taken with the one that came, up to ANSWERS_PER_MESSAGE, and answered
 * in one message: fewer messages, fewer wakes of the main thread. No more than that per turn: what a
 * codec leaves for the end of the turn (a closed deflate stream's last callbacks) must get its turn.
 */
port.on('message', (first: CompressionJob) => {
  if (asynchronous) {
    const { block, probe } = first;
    previous = previous.then(() =>
      compressHere(codec, block, probe).then(
        (length) => port.postMessage([length]),
        (err) => port.postMessage([failure(err)]),
      ),
    );
    return;
  }
  const replies: CompressionReply[] = [];
  for (let job: CompressionJob | undefined = first; job; ) {
    try {
      replies.push(compressHereSync(codec, job.block, job.probe)!);
    } catch (err) {
      replies.push(failure(err));
    }
    job = replies.length < ANSWERS_PER_MESSAGE ? receiveMessageOnPort(port)?.message : undefined;
  }
  port.postMessage(replies);
});
