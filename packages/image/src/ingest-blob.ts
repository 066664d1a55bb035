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
 * while hashing and then pushed under the descriptor that gave, as any verified content. Content
 * whose digest and size are `expected` is pushed under them directly (verified as it is written).
 */
export async function ingestBlob(
  target: Target,
  mediaType: string,
  content: Readable,
  options: FetchOptions & { expected?: Pick<Descriptor, 'digest' | 'size'> } = {},
): Promise<Descriptor> {
  const { expected, ...fetchOptions } = options;
  if (expected) {
    // Known beforehand: pushed as any verified content, hashed once as it is written.
    const desc: Descriptor = { mediaType, digest: expected.digest, size: expected.size };
    await target.push(desc, content, fetchOptions);
    return desc;
  }
  if (target.ingest) return target.ingest(mediaType, content, fetchOptions);
  return withSpool(async (spool) => {
    const path = join(spool, 'blob');
    const { digest, size } = await writeContentAddressedFile(join(spool, 'spooling'), content, () => path);
    const desc: Descriptor = { mediaType, digest, size };
    await target.push(desc, readFile(path), fetchOptions);
    return desc;
  });
}

/**
 * Stores a blob that `write` makes as a file at the path it is given (a squashfs image, written
 * out of order) in any target: made on the target's own file system and renamed into place where
 * the target takes files (`ingestFile`: local targets, the store), else made in a temporary
 * directory and streamed into the target (a registry, hashed on the way).
 */
export async function ingestWrittenFile(
  target: Target,
  mediaType: string,
  write: (path: string) => Promise<void>,
  options: FetchOptions = {},
): Promise<Descriptor> {
  if (target.ingestPath && target.ingestFile) {
    const path = await target.ingestPath(options);
    try {
      await write(path);
      return await target.ingestFile(mediaType, path, options);
    } finally {
      await rm(path, { force: true });
    }
  }
  return streamWrittenFile(write, (content) => ingestBlob(target, mediaType, content, options));
}

/** Makes a file with `write` in a temporary directory and hands it as a stream to `ingest`. */
export function streamWrittenFile(
  write: (path: string) => Promise<void>,
  ingest: (content: Readable) => Promise<Descriptor>,
): Promise<Descriptor> {
  return withSpool(async (spool) => {
    const path = join(spool, 'blob');
    await write(path);
    return ingest(readFile(path));
  });
}

async function withSpool<T>(use: (spool: string) => Promise<T>): Promise<T> {
  const spool = await mkdtemp(join(tmpdir(), 'concil-ingest-'));
  try {
    return await use(spool);
  } finally {
    await rm(spool, { recursive: true, force: true });
  }
}

function readFile(path: string): Readable {
  return createReadStream(path, { highWaterMark: 1 << 20 });
}
