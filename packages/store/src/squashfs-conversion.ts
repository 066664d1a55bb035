import { PassThrough, Transform, type TransformCallback, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { Worker } from 'node:worker_threads';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { type Digest, Digester, type LayerCompression, layerKindOf } from '@concil/oci-spec';
import type { CompressorName } from '@concil/squashfs';
import { builtWorkerScript } from '@concil/squashfs/worker-script';
import { StoreError } from './errors.js';

export interface SquashfsOptions {
  compressor?: CompressorName;
  level?: number;
}

/** concil's choice: zstd at level 10. */
export const DEFAULT_SQUASHFS_OPTIONS: Required<Pick<SquashfsOptions, 'compressor' | 'level'>> = {
  compressor: 'zstd',
  level: 10,
};

/** Whether a layer of this media type is a tar (plain, gzip or zstd) that can become squashfs. */
export function convertibleCompression(mediaType: string): Exclude<LayerCompression, 'squashfs'> | undefined {
  const kind = layerKindOf(mediaType);
  if (!kind || kind.encrypted || kind.compression === 'squashfs') return undefined;
  return kind.compression;
}

function decompressorFor(compression: Exclude<LayerCompression, 'squashfs'>): Transform {
  if (compression === 'gzip') return createGunzip({ chunkSize: 1 << 18 });
  if (compression === 'zstd') return createZstdDecompress({ chunkSize: 1 << 18 });
  return new Transform({ transform: (chunk, _encoding, callback) => callback(null, chunk) });
}

/** Hashes the tar as it passes (its digest is the layer's diff_id). */
class DiffIdStream extends Transform {
  readonly digester = new Digester('sha256');
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.digester.update(chunk);
    callback(null, chunk);
  }
  /**
   * Real tools end a layer's tar right after the last entry's data (umoci 0.4.7 writes no
   * padding and no end blocks). Two zero blocks after the content make every such tar whole,
   * and are ignored after a tar that already ended; they are not part of the diff_id.
   */
  override _flush(callback: TransformCallback): void {
    const padding = (512 - (this.digester.size % 512)) % 512;
    this.push(Buffer.alloc(padding + 1024));
    callback();
  }
}

export interface LayerConversion {
  /** Write the layer's bytes as fetched (compressed) here, and end it. */
  readonly input: Writable;
  /** Settles when the squashfs image is written: with the diff_id of the tar. */
  readonly done: Promise<{ diffId: Digest; tarSize: number }>;
}

/**
 * Converts a layer on the fly: bytes written to `input` are decompressed, hashed into the
 * diff_id and streamed into the squashfs writer, which writes `outputPath`.
 */
export function startLayerConversion(
  compression: Exclude<LayerCompression, 'squashfs'>,
  outputPath: string,
  options: SquashfsOptions = DEFAULT_SQUASHFS_OPTIONS,
): LayerConversion {
  // Without the built worker, conversions run on the calling thread.
  const worker = builtWorkerScript(import.meta.url, 'squashfs-worker.js');
  return worker
    ? startConversionInWorker(worker, compression, outputPath, options)
    : convertInThisThread(compression, outputPath, options);
}

/** The conversion on this thread: what the worker runs, and the fallback without one. */
export function convertInThisThread(
  compression: Exclude<LayerCompression, 'squashfs'>,
  outputPath: string,
  options: SquashfsOptions = DEFAULT_SQUASHFS_OPTIONS,
): LayerConversion {
  const input = decompressorFor(compression);
  const diffIdStream = new DiffIdStream({ highWaterMark: 1 << 20 });
  input.on('error', (error) => diffIdStream.destroy(error));
  input.pipe(diffIdStream);
  // The writer stops reading at the tar's end blocks (and may destroy its input): it reads a
  // feed of its own, so that the hashing stream runs to the end whatever the writer does.
  const feed = new PassThrough({ highWaterMark: 1 << 20 });
  diffIdStream.on('data', (chunk: Buffer) => {
    if (!feed.destroyed && !feed.writableEnded && !feed.write(chunk)) diffIdStream.pause();
  });
  feed.on('drain', () => diffIdStream.resume());
  feed.on('close', () => diffIdStream.resume());
  diffIdStream.on('end', () => feed.end());
  diffIdStream.on('error', (error) => feed.destroy(error));
  const done = (async () => {
    try {
      const { createSquashfs } = await import('@concil/squashfs');
      await createSquashfs(feed, outputPath, { ...DEFAULT_SQUASHFS_OPTIONS, ...options });
      feed.destroy();
      diffIdStream.resume();
      if (!diffIdStream.readableEnded) await finished(diffIdStream);
    } catch (error) {
      feed.destroy();
      input.destroy();
      throw new StoreError(
        'CONVERSION_FAILED',
        `cannot convert the layer to squashfs: ${(error as Error).message}`,
        outputPath,
        { cause: error },
      );
    }
    return { diffId: diffIdStream.digester.digest(), tarSize: diffIdStream.digester.size };
  })();
  done.catch(() => {});
  return { input, done };
}

/** Bytes posted to the worker and not yet taken by it: bounds the memory a conversion holds. */
const WORKER_WINDOW = 8 << 20;

export type WorkerMessage =
  | { type: 'ack'; bytes: number }
  | { type: 'done'; diffId: Digest; tarSize: number }
  | { type: 'error'; message: string };

/**
 * Runs the conversion (decompression, diff_id hash, squashfs writer) on a worker thread, so that
 * converting layers does not compete with downloading and verifying them on the main thread.
 */
function startConversionInWorker(
  script: string,
  compression: Exclude<LayerCompression, 'squashfs'>,
  outputPath: string,
  options: SquashfsOptions,
): LayerConversion {
  const worker = new Worker(script, { workerData: { compression, outputPath, options } });
  let inFlight = 0;
  let waiting: (() => void) | undefined;
  let settled = false;
  let fail: (message: string, cause?: unknown) => void = () => {};
  const done = new Promise<{ diffId: Digest; tarSize: number }>((resolve, reject) => {
    fail = (message: string, cause?: unknown) => {
      if (settled) return;
      settled = true;
      if (!input.destroyed) input.destroy();
      reject(
        new StoreError('CONVERSION_FAILED', `cannot convert the layer to squashfs: ${message}`, outputPath, {
          cause,
        }),
      );
    };
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'ack') {
        inFlight -= message.bytes;
        if (waiting && inFlight < WORKER_WINDOW) {
          const resume = waiting;
          waiting = undefined;
          resume();
        }
      } else if (message.type === 'done') {
        settled = true;
        void worker.terminate();
        resolve({ diffId: message.diffId, tarSize: message.tarSize });
      } else {
        fail(message.message);
        void worker.terminate();
      }
    });
    worker.on('error', (error) => fail(error.message, error));
    worker.on('exit', (code) => fail(`the conversion worker exited with ${code}`));
  });
  done.catch(() => {});
  const input = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _encoding, callback) {
      const copy = new Uint8Array(chunk.byteLength);
      copy.set(chunk);
      inFlight += copy.byteLength;
      worker.postMessage(copy, [copy.buffer]);
      if (inFlight < WORKER_WINDOW) callback();
      else waiting = () => callback();
    },
    final(callback) {
      worker.postMessage('end');
      callback();
    },
    destroy(error, callback) {
      // Destroyed after it finished (autoDestroy), the worker goes on converting; before (an
      // error or an abort), it stops.
      if (!settled && (error || !this.writableFinished)) {
        void worker.terminate();
        fail(error?.message ?? 'aborted', error);
      }
      callback(error);
    },
  });
  return { input, done };
}
