import { type MessagePort, workerData } from 'node:worker_threads';
import { Lzma2Compressor } from '@napi-rs/lzma';

/**
 * The thread behind the xz compressor's compressSync: the library finishes a stream only
 * asynchronously, so the caller blocks on `signal` while this thread encodes. Loaded by Node
 * itself (from src/ in the tests), so it imports nothing of the package.
 */
const { port, signal, preset, dictSize } = workerData as {
  port: MessagePort;
  signal: Int32Array;
  preset: number;
  dictSize: number;
};

port.on('message', async (data: Uint8Array) => {
  let reply: { packed: Uint8Array } | { error: string };
  try {
    const encoder = new Lzma2Compressor({ preset, dictSize });
    const head = Buffer.from(encoder.update(data));
    reply = { packed: Buffer.concat([head, await encoder.finish()]) };
  } catch (err) {
    reply = { error: (err as Error).message };
  }
  port.postMessage(reply);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
});
