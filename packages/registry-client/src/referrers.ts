import {
  type Descriptor,
  encodeManifest,
  type ImageIndex,
  MediaType,
  type ParsedManifest,
  parseManifest,
  referrersTag,
} from '@concil/oci-spec';
import { repositoryScope } from './auth/challenge.js';
import { isRegistryError, RegistryError } from './errors.js';
import { getManifest, MAX_MANIFEST_BYTES, putManifest } from './manifests.js';
import { referenceText, repositoryPath } from './reference-text.js';
import { header, type RegistrySession, readBodyBytes } from './session.js';

export interface ReferrersOptions {
  /** Only referrers with this artifact type. */
  artifactType?: string;
  signal?: AbortSignal;
}

/** The tag of the referrers tag schema: `sha256-<hex>` for subject `sha256:<hex>` (oci-spec's). */
export { referrersTag };

/**
 * The manifests that refer to `subject`: from the referrers API, or — where the registry has no
 * such API (404) — from the index under the fallback tag `sha256-<hex>`.
 */
/**
 * Sessions whose registry answered the referrers API with 404: it has none (a registry with the
 * API answers 200, an empty list included), so later listings go straight to the tag schema.
 */
const withoutReferrersApi = new WeakSet<RegistrySession>();

export async function listReferrers(
  session: RegistrySession,
  repository: string,
  subject: string,
  options: ReferrersOptions = {},
): Promise<Descriptor[]> {
  if (withoutReferrersApi.has(session)) {
    const index = await fallbackIndex(session, repository, subject, options.signal);
    return filterByType(index?.manifests ?? [], options.artifactType);
  }
  const query = options.artifactType ? `?artifactType=${encodeURIComponent(options.artifactType)}` : '';
  const reference = referenceText(session.registry, repository, subject);
  const response = await session.send({
    method: 'GET',
    path: repositoryPath(repository, `referrers/${subject}${query}`),
    headers: { accept: MediaType.ociIndex },
    scopes: [repositoryScope(repository, 'pull')],
    repository,
    context: { reference, registry: session.registry },
    expect: [200, 404],
    ...(options.signal && { signal: options.signal }),
  });
  if (response.status === 200) {
    const bytes = await readBodyBytes(response, MAX_MANIFEST_BYTES, reference, 'the referrers index');
    const parsed = parseReferrersIndex(bytes, reference);
    const filtered = header(response, 'oci-filters-applied')?.includes('artifactType') ?? false;
    return filterByType(parsed.manifests, filtered ? undefined : options.artifactType);
  }
  await response.body.dump();
  // An OCI error (NAME_UNKNOWN…) comes from a registry that may have the API; a bare 404 (the
  // route is unknown, as docker-registry 2.8 answers) says it has none.
  if (!header(response, 'content-type')?.includes('json')) withoutReferrersApi.add(session);
  const index = await fallbackIndex(session, repository, subject, options.signal);
  return filterByType(index?.manifests ?? [], options.artifactType);
}

/**
 * A tag schema index grows by one descriptor a referrer; past this size the referrers it gains no
 * longer carry their manifests along (registries refuse manifests above 4 MiB).
 */
const MAX_INDEX_BYTES_WITH_DATA = 1024 * 1024;

/**
 * Adds a referrer to the fallback tag index of its subject, for registries without the referrers
 * API (those that answer a manifest PUT with a `subject` without an `OCI-Subject` header).
 */
export async function addToReferrersTagIndex(
  session: RegistrySession,
  repository: string,
  subject: string,
  referrer: Descriptor,
): Promise<void> {
  const current = await fallbackIndex(session, repository, subject);
  const manifests = current?.manifests ?? [];
  if (manifests.some((each) => each.digest === referrer.digest)) return;
  const encode = (added: Descriptor) =>
    encodeManifest(
      { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [...manifests, added] } as ImageIndex,
      MediaType.ociIndex,
    ).bytes;
  let bytes = encode(referrer);
  if (referrer.data !== undefined && bytes.byteLength > MAX_INDEX_BYTES_WITH_DATA) {
    const { data: _, ...plain } = referrer;
    bytes = encode(plain);
  }
  await putManifest(session, repository, referrersTag(subject), bytes, MediaType.ociIndex);
}

/** The descriptor a referrers list shows for a manifest: with its artifact type and annotations. */
export function referrerDescriptor(descriptor: Descriptor, manifest: ParsedManifest): Descriptor {
  const document = manifest.kind === 'manifest' ? manifest.manifest : manifest.index;
  const artifactType =
    document.artifactType ?? (manifest.kind === 'manifest' ? manifest.manifest.config.mediaType : undefined);
  return {
    mediaType: descriptor.mediaType,
    digest: descriptor.digest,
    size: descriptor.size,
    ...(artifactType !== undefined && { artifactType }),
    ...(document.annotations !== undefined && { annotations: document.annotations }),
  };
}

async function fallbackIndex(
  session: RegistrySession,
  repository: string,
  subject: string,
  signal?: AbortSignal,
): Promise<ImageIndex | undefined> {
  try {
    const fetched = await getManifest(session, repository, referrersTag(subject), signal);
    if (fetched.manifest.kind !== 'index') {
      throw new RegistryError(
        'MANIFEST_INVALID',
        `${referenceText(session.registry, repository, referrersTag(subject))} is not an index, so it cannot list referrers`,
        { reference: referenceText(session.registry, repository, referrersTag(subject)) },
      );
    }
    return fetched.manifest.index;
  } catch (error) {
    if (isRegistryError(error, 'MANIFEST_UNKNOWN') || isRegistryError(error, 'NAME_UNKNOWN'))
      return undefined;
    throw error;
  }
}

function parseReferrersIndex(bytes: Uint8Array, reference: string): ImageIndex {
  let parsed: ParsedManifest;
  try {
    parsed = parseManifest(bytes, MediaType.ociIndex, reference);
  } catch (error) {
    throw new RegistryError('MANIFEST_INVALID', `${reference}: the referrers list is not a valid index`, {
      reference,
      cause: error,
    });
  }
  if (parsed.kind !== 'index') {
    throw new RegistryError('MANIFEST_INVALID', `${reference}: the referrers list is not an index`, {
      reference,
    });
  }
  return parsed.index;
}

function filterByType(manifests: readonly Descriptor[], artifactType: string | undefined): Descriptor[] {
  return artifactType ? manifests.filter((each) => each.artifactType === artifactType) : [...manifests];
}
