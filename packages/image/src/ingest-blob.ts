import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Descriptor, FetchOptions, Target } from '@concil/oci-spec';
import { writeContentAddressedFile } from './atomic-file.js';

/**
 * Stores content whose digest is known only at its end (a layer transform's output) in any
 * target: through the target's own `ingest` when it has one, else spooled to a temporary file
 * while hashing and then pushed under the descriptor that gave, as any verified content.
 */
export async function ingestBlob(
  target: Target,
  mediaType: string,
  content: Readable,
  options: FetchOptions = {},
): Promise<Descriptor> {
  if (target.ingest) return target.ingest(mediaType, content, options);
  const spool = await mkdtemp(join(tmpdir(), 'concil-ingest-'));
  try {
    const path = join(spool, 'blob');
    const { digest, size } = await writeContentAddressedFile(join(spool, 'spooling'), content, () => path);
    const desc: Descriptor = { mediaType, digest, size };
    await target.push(desc, createReadStream(path, { highWaterMark: 1 << 20 }), options);
    return desc;
  } finally {
    await rm(spool, { recursive: true, force: true });
  }
}
