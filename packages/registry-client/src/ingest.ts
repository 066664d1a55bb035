import type { Readable } from 'node:stream';
import { type Digest, DigestingStream, pipeInto } from '@concil/oci-spec';
import { repositoryScope } from './auth/challenge.js';
import type { BlobRequestOptions } from './blobs.js';
import { RegistryError } from './errors.js';
import { referenceText } from './reference-text.js';
import { header, type RegistrySession } from './session.js';
import { cancelUpload, locationOf, startUpload } from './upload.js';

/**
 * Uploads content whose digest is known only at its end (a layer transform's output): POST an
 * upload session, stream the content in one PATCH while hashing it, then PUT with the digest that
 * gave. The registry checks that digest against what it received and must report the same size
 * and digest; on any failure the session is cancelled, so nothing is committed.
 */
export async function ingestBlob(
  session: RegistrySession,
  repository: string,
  content: Readable,
  options: BlobRequestOptions = {},
): Promise<{ digest: Digest; size: number }> {
  const reference = referenceText(session.registry, repository);
  const context = {
    reference,
    registry: session.registry,
    subject: 'upload' as const,
    ...(options.image && { image: options.image }),
  };
  const scopes = [repositoryScope(repository, 'push,pull')];
  const signal = options.signal && { signal: options.signal };
  let location: URL | undefined;
  // A content that fails or ends early fails the request body; the listener only keeps an early
  // failure from being reported as unhandled before the first read.
  const hashing = pipeInto(content, new DigestingStream());
  hashing.on('error', () => {});
  try {
    const started = await startUpload(session, repository, undefined, undefined, options);
    if (started.mounted)
      throw new RegistryError('PROTOCOL', `${reference}: the registry mounted a blob nobody named`, {
        reference,
      });
    location = started.location;
    const patched = await session.send({
      method: 'PATCH',
      path: location.toString(),
      headers: { 'content-type': 'application/octet-stream' },
      body: hashing,
      scopes,
      repository,
      context,
      expect: [202],
      ...signal,
    });
    await patched.body.dump();
    if (hashing.errored) throw hashing.errored;
    location = locationOf(patched, reference);
    const { digest, size } = hashing;
    checkReceived(header(patched, 'range'), size, reference);
    const final = new URL(location);
    final.searchParams.set('digest', digest);
    const put = await session.send({
      method: 'PUT',
      path: final.toString(),
      headers: { 'content-type': 'application/octet-stream', 'content-length': '0' },
      scopes,
      repository,
      context: { ...context, reference: referenceText(session.registry, repository, digest) },
      expect: [201],
      ...signal,
    });
    await put.body.dump();
    const stored = header(put, 'docker-content-digest');
    if (stored !== undefined && stored !== digest) {
      throw new RegistryError(
        'DIGEST_INVALID',
        `${reference}: the registry stored the upload as ${stored}, but its bytes hash to ${digest}`,
        { reference },
      );
    }
    return { digest, size };
  } catch (error) {
    // A content that failed is the cause; what the request made of it is a consequence.
    const cause = hashing.errored ?? error;
    content.destroy();
    hashing.destroy();
    if (location) await cancelUpload(session, repository, location);
    throw cause;
  }
}

/** The `Range` a registry answers a PATCH with (`0-<last byte>`) must cover exactly what was sent. */
function checkReceived(range: string | undefined, size: number, reference: string): void {
  const match = range ? /(\d+)-(\d+)$/.exec(range) : null;
  const received = match ? Number(match[2]) + 1 : undefined;
  // An empty upload is reported as `0-0` by some registries, as nothing by others.
  if (size === 0 ? received === undefined || received === 1 : received === size) return;
  throw new RegistryError(
    'SIZE_INVALID',
    `${reference}: ${size} bytes were sent, but the registry reports ${range === undefined ? 'no Range' : `Range ${range}`}; nothing was committed`,
    { reference },
  );
}
