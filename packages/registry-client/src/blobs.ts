import type { Readable } from 'node:stream';
import { type Descriptor, pipeInto } from '@concil/oci-spec';
import { repositoryScope } from './auth/challenge.js';
import { BlobDownload, type DownloadPart } from './blob-download.js';
import { RegistryError } from './errors.js';
import { referenceText, repositoryPath } from './reference-text.js';
import { isRetryableNetworkError } from './retry.js';
import { header, networkError, type RegistrySession } from './session.js';
import { VerifiedBlobStream } from './verified-blob-stream.js';

/** What every blob request may be told. */
export interface BlobRequestOptions {
  signal?: AbortSignal;
  /** The image the blob belongs to (`docker://host/repo:tag`): errors about access name it. */
  image?: string;
}

export interface FetchBlobOptions extends BlobRequestOptions {
  /** How many times a broken download is resumed with `Range` (default 5). */
  maxResumes?: number;
}

function blobContext(session: RegistrySession, repository: string, digest: string, image?: string) {
  return {
    reference: referenceText(session.registry, repository, digest),
    registry: session.registry,
    subject: 'blob' as const,
    digest,
    ...(image && { image }),
  };
}

/** HEAD a blob: its size and digest, or undefined when the repository does not have it. */
export async function headBlob(
  session: RegistrySession,
  repository: string,
  digest: string,
  { signal, image }: BlobRequestOptions = {},
): Promise<{ digest: string; size: number } | undefined> {
  const response = await session.send({
    method: 'HEAD',
    path: repositoryPath(repository, `blobs/${digest}`),
    scopes: [repositoryScope(repository, 'pull')],
    repository,
    context: blobContext(session, repository, digest, image),
    expect: [200, 404],
    ...(signal && { signal }),
  });
  await response.body.dump();
  if (response.status === 404) return undefined;
  return { digest, size: Number(header(response, 'content-length') ?? -1) };
}

/**
 * GET a blob as a stream that is hashed on the fly and fails on a wrong size or digest. When the
 * connection breaks, the download continues with `Range` from the bytes received, and the whole
 * is verified as one.
 */
export async function fetchBlob(
  session: RegistrySession,
  repository: string,
  desc: Pick<Descriptor, 'digest' | 'size'>,
  options: FetchBlobOptions = {},
): Promise<Readable> {
  const ctx = blobContext(session, repository, desc.digest, options.image);
  const open = async (offset: number): Promise<DownloadPart> => {
    const response = await session.send({
      method: 'GET',
      path: repositoryPath(repository, `blobs/${desc.digest}`),
      ...(offset > 0 && { headers: { range: `bytes=${offset}-` } }),
      scopes: [repositoryScope(repository, 'pull')],
      repository,
      context: ctx,
      ...(options.signal && { signal: options.signal }),
    });
    if (offset === 0 || response.status === 200) return { body: response.body, skip: offset };
    const contentRange = header(response, 'content-range');
    const range = /^bytes (\d+)-/.exec(contentRange ?? '');
    if (response.status !== 206 || Number(range?.[1]) !== offset) {
      response.body.destroy();
      throw new RegistryError(
        'PROTOCOL',
        `${ctx.reference}: the registry answered a resumed download with the wrong range (asked for the bytes from ${offset}, got HTTP ${response.status} with ${contentRange ? `Content-Range "${contentRange}"` : 'no Content-Range'})`,
        { reference: ctx.reference, status: response.status },
      );
    }
    return { body: response.body, skip: 0 };
  };
  const first = await open(0);
  const maxResumes = options.maxResumes ?? 5;
  let resumes = 0;
  const source = new BlobDownload(first, async (error, received) => {
    if (options.signal?.aborted || !isRetryableNetworkError(error)) {
      throw networkError(error, session.baseUrl, ctx);
    }
    if (received >= desc.size) return undefined;
    if (resumes >= maxResumes) {
      throw new RegistryError(
        'NETWORK',
        `${ctx.reference}: the download broke ${resumes + 1} times (at byte ${received} of ${desc.size} the last time) and was resumed ${resumes} times, the most allowed; check the network and try again`,
        { reference: ctx.reference, cause: error },
      );
    }
    resumes += 1;
    return open(received);
  });
  return pipeInto(source, new VerifiedBlobStream(desc, ctx.reference));
}
