import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  computeStreamDigest,
  type Descriptor,
  type Digest,
  DigestingStream,
  ensureVerified,
} from '@concil/oci-spec';
import { fileSystemError } from './errors.js';
import { OWNED_SUFFIX, ownedSuffix, removeLeftovers } from './leftovers.js';

/** A temporary name in the same directory, so the final rename is atomic; it names its process. */
export function temporaryPath(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.${ownedSuffix()}.tmp`);
}

/**
 * How much a file being written queues (about as much again is being written): 256 KiB, as the
 * reads of blob files. With 1 MiB, a copy of four layers at once held ~8 MiB of chunks, long
 * enough that they outlived young collections and waited for a full one.
 */
const WRITE_QUEUE_BYTES = 256 * 1024;

/** Ours, and the squashfs writer's own beside one of ours (`.<ours>.<random>.tmp`). */
const TEMPORARY = new RegExp(String.raw`^\..+\.${OWNED_SUFFIX}\.tmp(?:\.[0-9a-f]{12}\.tmp)?$`);

/** Removes the temporary files in `dir` that a process which is gone (killed) left behind. */
export function removeTemporaryLeftovers(dir: string): Promise<void> {
  return removeLeftovers(dir, TEMPORARY);
}

/**
 * Writes a stream to a file that appears under its final name only once it is complete; an
 * aborted `signal` stops the write and removes the temporary file. What the file system refuses
 * is an ImageError naming the file (`READ_ONLY`, `NO_SPACE`, …).
 */
export async function writeFileAtomic(
  finalPath: string,
  content: Readable | Uint8Array,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const temporary = temporaryPath(finalPath);
  try {
    const sink = createWriteStream(temporary, { highWaterMark: WRITE_QUEUE_BYTES });
    if (content instanceof Uint8Array) {
      await new Promise<void>((resolve, reject) => {
        sink.on('error', reject);
        sink.end(content, resolve);
      });
    } else {
      await pipeline(content, sink, options);
    }
    await rename(temporary, finalPath);
  } catch (error) {
    throw await failedWrite(error, temporary, finalPath);
  }
}

/**
 * The error of a write that failed, once its temporary file is removed. The removal's own failure
 * (the file is not there, or unreachable: ENOTDIR) is not what to report.
 */
async function failedWrite(error: unknown, temporary: string, subject: string): Promise<unknown> {
  await rm(temporary, { force: true }).catch(() => undefined);
  return fileSystemError(error, 'cannot write', subject);
}

/** Writes content that must match its descriptor; on a mismatch nothing appears under finalPath. */
export async function writeVerifiedFile(
  finalPath: string,
  desc: Descriptor,
  content: Readable,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  await writeFileAtomic(finalPath, ensureVerified(content, desc), options);
}

/**
 * Writes content of unknown digest to `temporary`, hashing it on the way, then renames it to the
 * path its digest names (on the same file system). On failure or abort nothing stays behind.
 */
export async function writeContentAddressedFile(
  temporary: string,
  content: Readable,
  pathOf: (digest: Digest) => string,
  options: { signal?: AbortSignal } = {},
): Promise<{ digest: Digest; size: number }> {
  const hashing = new DigestingStream();
  try {
    await pipeline(
      content,
      hashing,
      createWriteStream(temporary, { highWaterMark: WRITE_QUEUE_BYTES }),
      options,
    );
    await rename(temporary, pathOf(hashing.digest));
    return { digest: hashing.digest, size: hashing.size };
  } catch (error) {
    throw await failedWrite(error, temporary, temporary);
  }
}

/**
 * Moves a finished file to the path its digest names: hashed (one read), then renamed, or, where
 * it lies on another file system, copied beside that path and renamed. The file at `path` is gone
 * afterwards, whatever happens.
 */
export async function moveContentAddressedFile(
  path: string,
  pathOf: (digest: Digest) => string,
): Promise<{ digest: Digest; size: number }> {
  try {
    const hashed = await computeStreamDigest(createReadStream(path, { highWaterMark: 1 << 20 }));
    const finalPath = pathOf(hashed.digest);
    await rename(path, finalPath).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EXDEV') throw error;
      const temporary = temporaryPath(finalPath);
      try {
        await copyFile(path, temporary);
        await rename(temporary, finalPath);
      } catch (copyError) {
        await rm(temporary, { force: true });
        throw copyError;
      }
    });
    return hashed;
  } catch (error) {
    throw fileSystemError(error, 'cannot write', path);
  } finally {
    await rm(path, { force: true });
  }
}
