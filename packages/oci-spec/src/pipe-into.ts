import { type Duplex, finished, type Readable } from 'node:stream';

/**
 * Pipes content into a pass-through (a verifier, a hasher) that then fails when the content
 * fails or ends early — also when that happened before this call (a small blob verified while an
 * upload session started), which `.pipe` never reports, leaving whoever reads the pass-through
 * waiting for ever. A pass-through that fails or is abandoned releases the content (a socket, a
 * file) at once.
 */
export function pipeInto<T extends Duplex>(content: Readable, into: T): T {
  finished(content, (error) => {
    if (error) into.destroy(error);
  });
  into.on('close', () => content.destroy());
  return content.pipe(into);
}
