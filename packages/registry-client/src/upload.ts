import { Readable } from 'node:stream';
import { type Descriptor, pipeInto } from '@concil/oci-spec';
import { repositoryScope } from './auth/challenge.js';
import type { BlobRequestOptions } from './blobs.js';
import { RegistryError } from './errors.js';
import { referenceText, repositoryPath } from './reference-text.js';
import { header, type RegistryResponse, type RegistrySession } from './session.js';
import { VerifiedBlobStream } from './verified-blob-stream.js';

export interface UploadOptions extends BlobRequestOptions {
  /** Upload in chunks (POST, PATCH…, PUT) whatever the size. */
  chunked?: boolean;
  /** Bytes per PATCH (default 16 MiB). */
  chunkSize?: number;
  /** Blobs larger than this are uploaded in chunks (default 64 MiB). */
  chunkedThreshold?: number;
  /** Try a cross-repository mount from this repository of the same registry first. */
  mountFrom?: string;
}

export const DEFAULT_CHUNK_SIZE = 16 * 1024 * 1024;
export const DEFAULT_CHUNKED_THRESHOLD = 64 * 1024 * 1024;

function uploadContext(
  session: RegistrySession,
  repository: string,
  digest: string | undefined,
  image?: string,
) {
  return {
    reference: referenceText(session.registry, repository, digest),
    registry: session.registry,
    subject: 'upload' as const,
    ...(digest && { digest }),
    ...(image && { image }),
  };
}

export function locationOf(response: RegistryResponse, reference: string): URL {
  const location = header(response, 'location');
  if (!location) {
    throw new RegistryError('PROTOCOL', `${reference}: the registry started an upload without a Location`, {
      reference,
      status: response.status,
    });
  }
  return new URL(location, response.url);
}

/**
 * POST an upload session, or a mount when `from` is given: a 201 means the blob is already there.
 * `digest` is undefined for content whose digest is known only at its end.
 */
export async function startUpload(
  session: RegistrySession,
  repository: string,
  digest: string | undefined,
  from: string | undefined,
  { signal, image }: BlobRequestOptions,
): Promise<{ mounted: true } | { mounted: false; location: URL }> {
  const ctx = uploadContext(session, repository, digest, image);
  const query = from && digest ? `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}` : '';
  const response = await session.send({
    method: 'POST',
    path: repositoryPath(repository, `blobs/uploads/${query}`),
    headers: { 'content-length': '0' },
    scopes: [repositoryScope(repository, 'push,pull'), ...(from ? [repositoryScope(from, 'pull')] : [])],
    repository,
    context: ctx,
    expect: [201, 202],
    ...(signal && { signal }),
  });
  await response.body.dump();
  if (response.status === 201) return { mounted: true };
  return { mounted: false, location: locationOf(response, ctx.reference) };
}

export async function cancelUpload(
  session: RegistrySession,
  repository: string,
  location: URL,
): Promise<void> {
  try {
    const response = await session.send({
      method: 'DELETE',
      path: location.toString(),
      scopes: [repositoryScope(repository, 'push,pull')],
      repository,
      context: { reference: referenceText(session.registry, repository), registry: session.registry },
      expect: [200, 202, 204, 404],
    });
    await response.body.dump();
  } catch {
    // the registry expires abandoned sessions anyway
  }
}

/**
 * Mounts a blob from another repository of the same registry. Returns false (and leaves no
 * upload session behind) when the registry does not mount it.
 */
export async function mountBlob(
  session: RegistrySession,
  repository: string,
  digest: string,
  from: string,
  options: BlobRequestOptions = {},
): Promise<boolean> {
  const started = await startUpload(session, repository, digest, from, options);
  if (started.mounted) return true;
  await cancelUpload(session, repository, started.location);
  return false;
}

/**
 * Uploads a blob, streaming: monolithic (POST then PUT with the body) up to the chunked threshold,
 * in chunks above it (POST, PATCH per chunk, PUT). The content is hashed as it goes and nothing is
 * committed unless it matches the descriptor. Returns whether the blob was mounted instead.
 */
export async function pushBlob(
  session: RegistrySession,
  repository: string,
  desc: Pick<Descriptor, 'digest' | 'size'>,
  content: Readable,
  options: UploadOptions = {},
): Promise<{ mounted: boolean }> {
  const ctx = uploadContext(session, repository, desc.digest, options.image);
  let started: Awaited<ReturnType<typeof startUpload>>;
  try {
    started = await startUpload(session, repository, desc.digest, options.mountFrom, options);
  } catch (error) {
    content.destroy();
    throw error;
  }
  if (started.mounted) {
    content.destroy();
    return { mounted: true };
  }
  // A failure of the content (also one before this point) or of the verification fails the
  // request body, which ends the request; the listener only keeps an early failure from being
  // reported as unhandled before the first read.
  const verifier = pipeInto(content, new VerifiedBlobStream(desc, ctx.reference));
  verifier.on('error', () => {});

  const chunked = options.chunked || desc.size > (options.chunkedThreshold ?? DEFAULT_CHUNKED_THRESHOLD);
  let location = started.location;
  try {
    if (chunked) {
      location = await uploadChunks(session, repository, desc, verifier, location, options);
    }
    const final = new URL(location);
    final.searchParams.set('digest', desc.digest);
    const response = await session.send({
      method: 'PUT',
      path: final.toString(),
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(chunked ? 0 : desc.size),
      },
      ...(chunked ? {} : { body: verifier }),
      scopes: [repositoryScope(repository, 'push,pull')],
      repository,
      context: ctx,
      expect: [201],
      ...(options.signal && { signal: options.signal }),
    });
    await response.body.dump();
    // A monolithic body that failed verification aborts the request above; check anyway.
    if (verifier.errored) throw verifier.errored;
  } catch (error) {
    verifier.destroy();
    await cancelUpload(session, repository, location);
    // The content's own failure (a corrupt source) or the verifier's is the cause; the failed
    // request only follows from it.
    throw content.errored ?? (verifier.errored instanceof RegistryError ? verifier.errored : error);
  }
  return { mounted: false };
}

async function uploadChunks(
  session: RegistrySession,
  repository: string,
  desc: Pick<Descriptor, 'digest' | 'size'>,
  verified: Readable,
  start: URL,
  options: UploadOptions,
): Promise<URL> {
  const ctx = uploadContext(session, repository, desc.digest, options.image);
  const chunkSize = Math.max(1, options.chunkSize ?? DEFAULT_CHUNK_SIZE);
  const iterator = verified[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let leftover: Buffer | undefined;

  async function* take(count: number): AsyncGenerator<Buffer> {
    let left = count;
    while (left > 0) {
      let chunk = leftover;
      leftover = undefined;
      if (!chunk) {
        const next = await iterator.next();
        if (next.done) return;
        chunk = next.value;
      }
      if (chunk.length > left) {
        leftover = chunk.subarray(left);
        chunk = chunk.subarray(0, left);
      }
      left -= chunk.length;
      yield chunk;
    }
  }

  let location = start;
  for (let offset = 0; offset < desc.size; offset += chunkSize) {
    const length = Math.min(chunkSize, desc.size - offset);
    const response = await session.send({
      method: 'PATCH',
      path: location.toString(),
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(length),
        'content-range': `${offset}-${offset + length - 1}`,
      },
      body: Readable.from(take(length), { objectMode: false }),
      scopes: [repositoryScope(repository, 'push,pull')],
      repository,
      context: ctx,
      expect: [202],
      ...(options.signal && { signal: options.signal }),
    });
    await response.body.dump();
    location = locationOf(response, ctx.reference);
  }
  // Reading past the end runs the digest check before the upload is committed.
  const end = await iterator.next();
  if (!end.done || leftover) {
    throw new RegistryError(
      'SIZE_INVALID',
      `${ctx.reference}: the content is longer than ${desc.size} bytes`,
      {
        reference: ctx.reference,
      },
    );
  }
  return location;
}
