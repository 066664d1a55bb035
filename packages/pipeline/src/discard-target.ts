import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { type Descriptor, DigestingStream, type FetchOptions, type Target } from '@concil/oci-spec';
import { PipelineError } from './errors.js';

/**
 * A destination that keeps nothing: what a copy pushes to it is read to its end and dropped.
 * Filters that only read (a search, an inspection) run through the one copy into it: the source
 * is read and verified as any copy reads it, and nothing is written anywhere.
 */
export class DiscardTarget implements Target {
  readonly name = 'nowhere (read only)';

  async exists(): Promise<boolean> {
    return false;
  }

  async resolve(): Promise<Descriptor> {
    throw new PipelineError('UNSUPPORTED', 'nothing can be read back from a destination that keeps nothing');
  }

  async fetch(): Promise<Readable> {
    return this.resolve() as never;
  }

  async push(_desc: Descriptor, content: Readable): Promise<void> {
    content.resume();
    await finished(content);
  }

  async ingest(mediaType: string, content: Readable, options: FetchOptions = {}): Promise<Descriptor> {
    const hashing = new DigestingStream();
    hashing.resume();
    await pipeline(content, hashing, { ...(options.signal && { signal: options.signal }) });
    return { mediaType, digest: hashing.digest, size: hashing.size };
  }

  async tag(): Promise<void> {}
}
