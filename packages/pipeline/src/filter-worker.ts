import { PassThrough, type Readable } from 'node:stream';
import { type MessagePort, parentPort } from 'node:worker_threads';
import { type Descriptor, type Digest, layerKindOf } from '@concil/oci-spec';
import { filterFromRecipe } from './filter-recipe.js';
import {
  type FilterJob,
  type FromWorker,
  receivedChunk,
  SendWindow,
  sendableError,
  sendChunk,
  type ToWorker,
} from './filter-worker-protocol.js';
import { rewriteLayer } from './layer-rewrite.js';

/**
 * A filter worker (see filter-worker-pool.ts): rewrites one layer at a time, each job on its own
 * port. The source blob's bytes come in, already verified by the calling thread; the tar is
 * read, filtered, written again, compressed and its new diff_id computed here; the new blob's bytes
 * go back, to be stored (and hashed) by the calling thread.
 */
parentPort!.on('message', ({ job, port }: { job: FilterJob; port: MessagePort }) => {
  void runJob(job, port).finally(() => port.close());
});

async function runJob({ descriptor, recipes, encoding }: FilterJob, port: MessagePort): Promise<void> {
  const send = (message: FromWorker) => port.postMessage(message);
  const source = new PassThrough({ highWaterMark: 1 << 20 });
  const window = new SendWindow();
  port.on('message', (message: ToWorker) => {
    if (message.type === 'data') {
      const chunk = receivedChunk(message.chunk);
      source.write(chunk, () => send({ type: 'ack', bytes: chunk.byteLength }));
    } else if (message.type === 'end') source.end();
    else window.give(message.bytes);
  });
  const filters = recipes.map(filterFromRecipe);
  try {
    const layer = await rewriteLayer(
      { descriptor, diffId: undefined, open: async () => source },
      filters.map((filter) => filter.start(descriptor)),
      {
        ingest: (mediaType, content) => sendBlob(mediaType, content, window, port),
        signal: new AbortController().signal, // the calling thread ends a job by ending the worker
      },
      encoding,
    );
    send({ type: 'done', diffId: layer.diffId });
  } catch (error) {
    send({ type: 'error', error: sendableError(error) });
  }
}

/**
 * `ingest` on the worker: the blob's bytes go to the calling thread, which stores and hashes them;
 * the digest is known there, not here.
 */
async function sendBlob(
  mediaType: string,
  content: Readable,
  window: SendWindow,
  port: MessagePort,
): Promise<Descriptor> {
  port.postMessage({ type: 'ingest', mediaType } satisfies FromWorker);
  // A compressor's output buffers are fresh and its own; an uncompressed tar's are views of others.
  const owned = layerKindOf(mediaType)?.compression !== 'none';
  let size = 0;
  for await (const chunk of content as AsyncIterable<Buffer>) {
    await window.take(chunk.byteLength);
    size += chunk.byteLength;
    sendChunk(port, chunk, owned);
  }
  return { mediaType, size, digest: 'sha256:' as Digest };
}
