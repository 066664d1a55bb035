import { parentPort, workerData } from 'node:worker_threads';
import type { LayerCompression } from '@concil/oci-spec';
import { convertInThisThread, type SquashfsOptions, type WorkerMessage } from './squashfs-conversion.js';

/** The worker thread of a layer conversion: chunks come in as messages, `'end'` closes the input. */
const { compression, outputPath, options } = workerData as {
  compression: Exclude<LayerCompression, 'squashfs'>;
  outputPath: string;
  options: SquashfsOptions;
};
const port = parentPort!;
const conversion = convertInThisThread(compression, outputPath, options);
const post = (message: WorkerMessage) => port.postMessage(message);
let unacknowledged = 0;
let waitingForDrain = false;

port.on('message', (message: Uint8Array | 'end') => {
  if (message === 'end') {
    conversion.input.end();
    return;
  }
  const chunk = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  if (conversion.input.write(chunk) && !waitingForDrain) {
    post({ type: 'ack', bytes: chunk.byteLength });
    return;
  }
  // Taken once the input drains: the sender holds back past its window meanwhile.
  unacknowledged += chunk.byteLength;
  if (!waitingForDrain) {
    waitingForDrain = true;
    conversion.input.once('drain', () => {
      waitingForDrain = false;
      post({ type: 'ack', bytes: unacknowledged });
      unacknowledged = 0;
    });
  }
});
conversion.input.on('error', () => {});

conversion.done.then(
  ({ diffId, tarSize }) => {
    post({ type: 'done', diffId, tarSize }); // the parent ends this thread when it has it
  },
  (error: Error) => {
    post({ type: 'error', message: error.message });
  },
);
