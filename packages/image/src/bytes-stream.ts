import { Readable } from 'node:stream';

/** Small content (a manifest, a config) as a stream, to push it like any other content. */
export function bytesStream(bytes: Uint8Array): Readable {
  return Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
}
