import {
  computeDigest,
  type Descriptor,
  type Digest,
  isDigest,
  manifestAcceptList,
  OciSpecError,
  type ParsedManifest,
  parseManifest,
} from '@concil/oci-spec';
import { repositoryScope } from './auth/challenge.js';
import { RegistryError } from './errors.js';
import { referenceText, repositoryPath } from './reference-text.js';
import { header, type RegistrySession, readBodyBytes } from './session.js';

/** Manifests larger than this are refused (distribution's own limit is 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface FetchedManifest {
  descriptor: Descriptor;
  /** The exact bytes served; their digest is `descriptor.digest`. */
  bytes: Uint8Array;
  manifest: ParsedManifest;
}

function context(session: RegistrySession, repository: string, reference: string) {
  return {
    reference: referenceText(session.registry, repository, reference),
    registry: session.registry,
    subject: isDigest(reference) ? ('manifest' as const) : ('tag' as const),
  };
}

/** GET a manifest or index by tag or digest; verifies a digest reference and parses the document. */
export async function getManifest(
  session: RegistrySession,
  repository: string,
  reference: string,
  signal?: AbortSignal,
): Promise<FetchedManifest> {
  const ctx = context(session, repository, reference);
  const response = await session.send({
    method: 'GET',
    path: repositoryPath(repository, `manifests/${reference}`),
    headers: { accept: manifestAcceptList.join(', ') },
    scopes: [repositoryScope(repository, 'pull')],
    repository,
    context: ctx,
    ...(signal && { signal }),
  });
  const bytes = await readBodyBytes(response, MAX_MANIFEST_BYTES, ctx.reference, 'the manifest');
  const digest = computeDigest(bytes);
  const claimed = header(response, 'docker-content-digest');
  const expected = isDigest(reference) ? reference : claimed?.startsWith('sha256:') ? claimed : undefined;
  if (expected && expected !== digest) {
    throw new RegistryError(
      'DIGEST_INVALID',
      `${ctx.reference}: the manifest served hashes to ${digest}, not ${expected}; the registry or something between served different bytes`,
      { reference: ctx.reference, status: response.status },
    );
  }
  let manifest: ParsedManifest;
  try {
    manifest = parseManifest(bytes, header(response, 'content-type'), ctx.reference);
  } catch (error) {
    if (error instanceof OciSpecError) {
      throw new RegistryError(
        error.code === 'UNSUPPORTED' ? 'UNSUPPORTED' : 'MANIFEST_INVALID',
        `${error.message} (served by ${session.registry})`,
        { reference: ctx.reference, status: response.status, cause: error },
      );
    }
    throw error;
  }
  return { descriptor: { mediaType: manifest.mediaType, digest, size: bytes.byteLength }, bytes, manifest };
}

/**
 * HEAD a manifest: its descriptor from the headers, or undefined when it does not exist.
 * Headers without `Docker-Content-Digest` fall back to a GET.
 */
export async function headManifest(
  session: RegistrySession,
  repository: string,
  reference: string,
  signal?: AbortSignal,
): Promise<Descriptor | undefined> {
  const response = await session.send({
    method: 'HEAD',
    path: repositoryPath(repository, `manifests/${reference}`),
    headers: { accept: manifestAcceptList.join(', ') },
    scopes: [repositoryScope(repository, 'pull')],
    repository,
    context: context(session, repository, reference),
    expect: [200, 404],
    ...(signal && { signal }),
  });
  await response.body.dump();
  if (response.status === 404) return undefined;
  const digest = header(response, 'docker-content-digest');
  const mediaType = header(response, 'content-type')?.split(';')[0]?.trim();
  const size = Number(header(response, 'content-length'));
  if (
    !digest ||
    !isDigest(digest) ||
    (isDigest(reference) && digest !== reference) ||
    !mediaType ||
    !Number.isSafeInteger(size)
  ) {
    return (await getManifest(session, repository, reference, signal)).descriptor;
  }
  return { mediaType, digest, size };
}

/** PUT a manifest under a tag or its digest. Returns its digest and whether the registry handled `subject`. */
export async function putManifest(
  session: RegistrySession,
  repository: string,
  reference: string,
  bytes: Uint8Array,
  mediaType: string,
): Promise<{ digest: Digest; subjectHandled: boolean }> {
  const digest = computeDigest(bytes);
  if (isDigest(reference) && reference !== digest) {
    throw new RegistryError('DIGEST_INVALID', `manifest bytes hash to ${digest}, not ${reference}`, {
      reference: referenceText(session.registry, repository, reference),
    });
  }
  const response = await session.send({
    method: 'PUT',
    path: repositoryPath(repository, `manifests/${reference}`),
    headers: { 'content-type': mediaType },
    body: bytes,
    scopes: [repositoryScope(repository, 'push,pull')],
    repository,
    context: { ...context(session, repository, reference), subject: 'manifest' },
  });
  await response.body.dump();
  const claimed = header(response, 'docker-content-digest');
  if (claimed && claimed !== digest) {
    throw new RegistryError(
      'DIGEST_INVALID',
      `${referenceText(session.registry, repository, reference)}: the registry stored the manifest as ${claimed}, not ${digest}`,
      { reference: referenceText(session.registry, repository, reference), status: response.status },
    );
  }
  return { digest, subjectHandled: header(response, 'oci-subject') !== undefined };
}
