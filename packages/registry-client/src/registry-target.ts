import { Readable } from 'node:stream';
import {
  computeDigest,
  type Descriptor,
  type FetchOptions,
  type ImageReference,
  isManifestOrIndexMediaType,
  manifestReference,
  parseReference,
  type ReadOnlyTarget,
  type ReferenceFetcher,
  type ReferrerLister,
  type Target,
} from '@concil/oci-spec';
import { type DefaultCredentialOptions, defaultCredentialProvider } from './auth/config-sources.js';
import { chainCredentialProviders, staticCredentials } from './auth/credentials.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import { RegistryError } from './errors.js';
import { MAX_MANIFEST_BYTES } from './manifests.js';
import { referenceText } from './reference-text.js';

const RECENT_MANIFESTS = 64;
const RECENT_MANIFEST_BYTES = 16 * 1024 * 1024;

/**
 * One repository of a registry as a content target: manifests and indexes go through the
 * manifest endpoints, everything else through the blob endpoints.
 */
export class RegistryTarget implements Target, ReferrerLister, ReferenceFetcher {
  readonly name: string;
  readonly client: RegistryClient;
  readonly repository: string;
  /** What `resolve()` without argument resolves: the reference's digest or tag. */
  readonly defaultReference: string;
  readonly #recent = new Map<string, { bytes: Uint8Array; mediaType: string }>();

  constructor(client: RegistryClient, repository: string, defaultReference = 'latest') {
    this.client = client;
    this.repository = repository;
    this.defaultReference = defaultReference;
    // The image as a person names it, tag or digest included: copies and errors say where.
    this.name = referenceText(client.registry, repository, defaultReference);
  }

  get registry(): string {
    return this.client.registry;
  }

  /** `docker://host/repo`: the repository, without the tag or digest that `name` carries. */
  get repositoryName(): string {
    return referenceText(this.client.registry, this.repository);
  }

  async fetch(desc: Descriptor, options: FetchOptions = {}): Promise<Readable> {
    if (isManifestOrIndexMediaType(desc.mediaType)) {
      const recent = this.#recent.get(desc.digest);
      if (recent) return Readable.from([Buffer.from(recent.bytes)]);
      const fetched = await this.client.getManifest(this.repository, desc.digest, options);
      return Readable.from([Buffer.from(fetched.bytes)]);
    }
    return this.client.fetchBlob(this.repository, desc, { ...options, image: this.name });
  }

  async exists(desc: Descriptor): Promise<boolean> {
    if (isManifestOrIndexMediaType(desc.mediaType)) {
      return (await this.client.headManifest(this.repository, desc.digest)) !== undefined;
    }
    return (await this.client.headBlob(this.repository, desc.digest, { image: this.name })) !== undefined;
  }

  async push(desc: Descriptor, content: Readable, options: FetchOptions = {}): Promise<void> {
    if (!isManifestOrIndexMediaType(desc.mediaType)) {
      await this.client.pushBlob(this.repository, desc, content, {
        ...(options.signal && { signal: options.signal }),
        image: this.name,
      });
      return;
    }
    const bytes = await readManifestStream(
      content,
      desc,
      referenceText(this.registry, this.repository, desc.digest),
    );
    await this.client.putManifest(this.repository, desc.digest, bytes, desc.mediaType);
    this.#remember(desc.digest, bytes, desc.mediaType);
  }

  /**
   * Content of unknown digest: a blob as a streamed upload whose digest comes with the final PUT;
   * a manifest (small) read whole, hashed, and put under its digest.
   */
  async ingest(mediaType: string, content: Readable, options: FetchOptions = {}): Promise<Descriptor> {
    if (isManifestOrIndexMediaType(mediaType)) {
      const bytes = await readManifestStream(
        content,
        undefined,
        referenceText(this.registry, this.repository),
      );
      const desc: Descriptor = { mediaType, digest: computeDigest(bytes), size: bytes.byteLength };
      await this.push(desc, Readable.from([bytes]));
      return desc;
    }
    const { digest, size } = await this.client.ingestBlob(this.repository, content, {
      ...(options.signal && { signal: options.signal }),
      image: this.name,
    });
    return { mediaType, digest, size };
  }

  async resolve(reference?: string): Promise<Descriptor> {
    const ref = reference ?? this.defaultReference;
    const desc = await this.client.headManifest(this.repository, ref);
    if (!desc) {
      // HEAD carries no body: GET it to raise the registry's own error (e.g. MANIFEST_UNKNOWN).
      return (await this.client.getManifest(this.repository, ref)).descriptor;
    }
    return desc;
  }

  async tag(desc: Descriptor, reference?: string): Promise<void> {
    const tag = reference ?? this.defaultReference;
    let recent = this.#recent.get(desc.digest);
    if (!recent) {
      const fetched = await this.client.getManifest(this.repository, desc.digest);
      recent = { bytes: fetched.bytes, mediaType: fetched.descriptor.mediaType };
      this.#remember(desc.digest, recent.bytes, recent.mediaType); // several tags, one GET
    }
    await this.client.putManifest(this.repository, tag, recent.bytes, recent.mediaType);
  }

  /**
   * A manifest by tag or digest (by default `defaultReference`, as `resolve`) in one GET, kept so
   * a `fetch` of it asks nothing more.
   */
  async fetchReference(
    reference?: string,
    options: FetchOptions = {},
  ): Promise<{ descriptor: Descriptor; bytes: Uint8Array }> {
    const ref = reference ?? this.defaultReference;
    const fetched = await this.client.getManifest(this.repository, ref, options);
    this.#remember(fetched.descriptor.digest, fetched.bytes, fetched.descriptor.mediaType);
    return { descriptor: fetched.descriptor, bytes: fetched.bytes };
  }

  /** The manifests that refer to `subject`: the referrers API, or the `sha256-<hex>` tag index. */
  referrers(subject: string, options: FetchOptions & { artifactType?: string } = {}): Promise<Descriptor[]> {
    return this.client.listReferrers(this.repository, subject, options);
  }

  /**
   * Deletes a manifest (with every tag that points at it) or a blob, by digest. Registries
   * refuse it unless their operator enabled deletion (`UNSUPPORTED`).
   */
  async delete(desc: Descriptor): Promise<void> {
    if (isManifestOrIndexMediaType(desc.mediaType)) {
      await this.client.deleteManifest(this.repository, desc.digest);
      this.#recent.delete(desc.digest);
    } else {
      await this.client.deleteBlob(this.repository, desc.digest);
    }
  }

  /** Mounts a blob from another repository of the same registry; false when it cannot. */
  async mount(desc: Descriptor, from: ReadOnlyTarget): Promise<boolean> {
    if (!(from instanceof RegistryTarget) || from.registry !== this.registry) return false;
    if (isManifestOrIndexMediaType(desc.mediaType)) return false;
    return this.client.mountBlob(this.repository, desc.digest, from.repository, { image: this.name });
  }

  #remember(digest: string, bytes: Uint8Array, mediaType: string): void {
    this.#recent.delete(digest);
    this.#recent.set(digest, { bytes, mediaType });
    let bytesKept = 0;
    for (const each of this.#recent.values()) bytesKept += each.bytes.byteLength;
    while (
      this.#recent.size > 1 &&
      (this.#recent.size > RECENT_MANIFESTS || bytesKept > RECENT_MANIFEST_BYTES)
    ) {
      const [oldest, entry] = this.#recent.entries().next().value!;
      bytesKept -= entry.bytes.byteLength;
      this.#recent.delete(oldest);
    }
  }
}

/** The bytes of a manifest stream, bounded, and checked against its descriptor when there is one. */
async function readManifestStream(
  content: Readable,
  desc: Descriptor | undefined,
  reference: string,
): Promise<Uint8Array> {
  const limit = desc?.size ?? MAX_MANIFEST_BYTES;
  if (limit > MAX_MANIFEST_BYTES) {
    content.destroy();
    throw new RegistryError('MANIFEST_INVALID', `${reference}: a manifest of ${limit} bytes is too large`, {
      reference,
    });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of content) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    size += buffer.length;
    if (size > limit) {
      content.destroy();
      throw new RegistryError(
        'SIZE_INVALID',
        desc
          ? `${reference}: the manifest is larger than its descriptor says`
          : `${reference}: a manifest of more than ${limit} bytes is too large`,
        { reference },
      );
    }
    chunks.push(buffer);
  }
  const bytes = Buffer.concat(chunks);
  if (desc && (bytes.length !== desc.size || computeDigest(bytes) !== desc.digest)) {
    throw new RegistryError(
      'DIGEST_INVALID',
      `${reference}: the manifest bytes do not match their descriptor`,
      {
        reference,
      },
    );
  }
  return bytes;
}

export interface OpenRegistryTargetOptions
  extends RegistryClientOptions,
    Omit<DefaultCredentialOptions, 'explicit' | 'prompt'> {
  /** Reuse a client (and its connections and tokens) for the reference's registry. */
  client?: RegistryClient;
  /**
   * Where to reach a registry host instead of its own address (e.g. concil's `remote_servers`):
   * a base URL as `baseUrl` takes it, or undefined for the host itself.
   */
  registryUrl?: (registry: string) => string | undefined;
}

/** A RegistryTarget for `docker://host/repo[:tag][@digest]`, with the reference's `user:pass` first. */
export function openRegistryTarget(
  reference: string | ImageReference,
  options: OpenRegistryTargetOptions = {},
): RegistryTarget {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  let client = options.client;
  if (!client || client.registry !== ref.registry) {
    const explicit =
      ref.username !== undefined ? { username: ref.username, password: ref.password ?? '' } : undefined;
    const credentials = options.credentials
      ? chainCredentialProviders(
          explicit && staticCredentials(explicit),
          typeof options.credentials === 'function'
            ? options.credentials
            : staticCredentials(options.credentials),
        )
      : defaultCredentialProvider({
          ...(explicit && { explicit }),
          ...(options.prompt && { prompt: options.prompt }),
          ...(options.env && { env: options.env }),
          ...(options.homeDir && { homeDir: options.homeDir }),
        });
    const { registryUrl, client: _client, ...clientOptions } = options;
    const baseUrl = registryUrl?.(ref.registry);
    client = new RegistryClient(ref.registry, {
      ...clientOptions,
      credentials,
      ...(baseUrl !== undefined && { baseUrl }),
    });
  }
  return new RegistryTarget(client, ref.repository, manifestReference(ref));
}
