import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Descriptor } from '@concil/oci-spec';
import { fileSystemError, ImageError } from './errors.js';

/** Opens a local blob file for reading, refusing one whose size does not match its descriptor. */
export async function openBlobFile(path: string, desc: Descriptor, where: string): Promise<Readable> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw fileSystemError(error, 'cannot read', where);
  });
  if (!info?.isFile()) throw missingBlob(path, desc, where);
  checkSize(path, info.size, desc);
  // 256 KiB reads: few system calls, and few bytes waiting in the queues behind (a push of 1 GB
  // with 1 MiB reads held ~15 MiB more).
  return createReadStream(path, { highWaterMark: 256 * 1024 });
}

/**
 * Reads a small local blob file whole (see `SmallContentReader`), refused as `openBlobFile`
 * refuses it; the caller checks its digest.
 */
export async function readBlobFile(path: string, desc: Descriptor, where: string): Promise<Uint8Array> {
  const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'EISDIR') throw missingBlob(path, desc, where);
    throw fileSystemError(error, 'cannot read', where);
  });
  checkSize(path, bytes.byteLength, desc);
  return bytes;
}

function missingBlob(path: string, desc: Descriptor, where: string): ImageError {
  return new ImageError(
    'NOT_FOUND',
    `${where} does not hold ${desc.digest} (${path} is missing)`,
    desc.digest,
  );
}

function checkSize(path: string, size: number, desc: Descriptor): void {
  if (size !== desc.size) {
    throw new ImageError(
      'SIZE_INVALID',
      `${path} has ${size} bytes but ${desc.digest} has ${desc.size}: the file is damaged; copy the image again`,
      desc.digest,
    );
  }
}

/** True when a file exists with exactly the expected size. */
export async function hasFileOfSize(path: string, size: number): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  return info?.isFile() === true && info.size === size;
}
