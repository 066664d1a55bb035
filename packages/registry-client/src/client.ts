import type { Readable } from 'node:stream';
import {
  type Descriptor,
  type Digest,
  type ParsedManifest,
  parseManifest,
  withEmbeddedContent,
} from '@concil/oci-spec';
import type { Dispatcher } from 'undici';
import { Authorizer } from './auth/authorizer.js';
import { defaultCredentialProvider } from './auth/config-sources.js';
import {
  type CredentialPrompt,
  type CredentialProvider,
  type Credentials,
  staticCredentials,
} from './auth/credentials.js';
import { type BlobRequestOptions, type FetchBlobOptions, fetchBlob, headBlob } from './blobs.js';
import { deleteByDigest } from './delete.js';
import { ingestBlob } from './ingest.js';
import { type FetchedManifest, getManifest, headManifest, putManifest } from './manifests.js';
import {
  addToReferrersTagIndex,
  listReferrers,
  type ReferrersOptions,
  referrerDescriptor,
} from './referrers.js';
import { apiBaseUrl } from './registry-url.js';
import { defaultRetryOptions, type RetryOptions } from './retry.js';
import { RegistrySession } from './session.js';
import { type ListOptions, listRepositories, listTags, tagPages } from './tags.js';
import { createDispatcher, type TransportOptions } from './transport.js';
import { mountBlob, pushBlob, type UploadOptions } from './upload.js';

export interface RegistryClientOptions extends TransportOptions {
  /** Where credentials come from (default: concil, docker and containers config files, then `prompt`). */
  credentials?: CredentialProvider | Credentials;
  /** Asked when the registry wants credentials and no file has them (with the default provider). */
  prompt?: CredentialPrompt;
  /** Speak plain HTTP (default: only to loopback hosts). */
  plainHttp?: boolean;
  /**
   * Where the registry's API is, instead of the host's own address (a mirror, or concil's
   * `remote_servers`): `http(s)://host[:port][/path]`, its scheme deciding plain HTTP; requests go
   * to `/path/v2/…`. TLS files are looked up for the host of this URL.
   */
  baseUrl?: string;
  userAgent?: string;
  retry?: RetryOptions;
  /** Bytes per PATCH of a chunked upload (default 16 MiB). */
  chunkSize?: number;
  /** Blobs larger than this are uploaded in chunks (default 64 MiB). */
  chunkedThreshold?: number;
}

export const DEFAULT_USER_AGENT = 'concil-registry-client/0.1';

/**
 * The OCI distribution API of one registry host. One undici dispatcher, so connections are reused
 * and bounded; bearer tokens are cached per scope; every method names its repository.
 */
export class RegistryClient {
  /** host[:port] as in image references. */
  readonly registry: string;
  readonly #session: RegistrySession;
  readonly #options: RegistryClientOptions;
  #dispatcher: Promise<Dispatcher> | undefined;

  constructor(registry: string, options: RegistryClientOptions = {}) {
    this.registry = registry;
    this.#options = options;
    const credentials =
      typeof options.credentials === 'function'
        ? options.credentials
        : options.credentials
          ? staticCredentials(options.credentials)
          : defaultCredentialProvider(options.prompt ? { prompt: options.prompt } : {});
    const baseUrl = apiBaseUrl(registry, options);
    const dispatcher = (): Promise<Dispatcher> => {
      this.#dispatcher ??= createDispatcher(options.baseUrl === undefined ? registry : baseUrl.host, options);
      return this.#dispatcher;
    };
    const userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    this.#session = new RegistrySession({
      registry,
      baseUrl,
      authorizer: new Authorizer({ registry, credentials, dispatcher, userAgent }),
      dispatcher,
      retry: { ...defaultRetryOptions, ...options.retry },
      userAgent,
      maxConcurrency: options.maxConcurrency ?? 8,
    });
  }

  /**
   * GET `/v2/`: checks that the registry speaks the distribution API and accepts the credentials
   * (as `docker login` does). `authenticated` is false when the registry asked for none.
   */
  async ping(options: { signal?: AbortSignal } = {}): Promise<{ authenticated: boolean }> {
    const response = await this.#session.send({
      method: 'GET',
      path: '/v2/',
      scopes: [],
      context: { reference: `docker://${this.registry}`, registry: this.registry },
      ...(options.signal && { signal: options.signal }),
    });
    await response.body.dump();
    return { authenticated: this.#session.authorizer.scheme !== undefined };
  }

  /** GET a manifest or index by tag or digest, verified and parsed. */
  getManifest(
    repository: string,
    reference: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<FetchedManifest> {
    return getManifest(this.#session, repository, reference, options.signal);
  }

  /** HEAD a manifest: its descriptor, or undefined when there is none. */
  headManifest(
    repository: string,
    reference: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<Descriptor | undefined> {
    return headManifest(this.#session, repository, reference, options.signal);
  }

  /**
   * PUT a manifest under a tag or its digest; returns its digest. A manifest with a `subject` is
   * also added to the referrers fallback tag when the registry does not handle `subject` itself.
   */
  async putManifest(
    repository: string,
    reference: string,
    bytes: Uint8Array,
    mediaType: string,
  ): Promise<Digest> {
    const { digest, subjectHandled } = await putManifest(
      this.#session,
      repository,
      reference,
      bytes,
      mediaType,
    );
    if (!subjectHandled) {
      const parsed = parseManifestOrUndefined(bytes, mediaType);
      const subject = parsed?.kind === 'manifest' ? parsed.manifest.subject : parsed?.index.subject;
      if (parsed && subject) {
        // The referrer itself rides in the index (small ones): a verifier reads it without a request.
        const descriptor = withEmbeddedContent(
          referrerDescriptor({ mediaType, digest, size: bytes.byteLength }, parsed),
          bytes,
        );
        await addToReferrersTagIndex(this.#session, repository, subject.digest, descriptor);
      }
    }
    return digest;
  }

  deleteManifest(repository: string, digest: string): Promise<void> {
    return deleteByDigest(this.#session, repository, 'manifests', digest);
  }

  /** HEAD a blob: digest and size, or undefined when the repository does not have it. */
  headBlob(
    repository: string,
    digest: string,
    options: BlobRequestOptions = {},
  ): Promise<{ digest: string; size: number } | undefined> {
    return headBlob(this.#session, repository, digest, options);
  }

  /** GET a blob as a stream verified against the descriptor, resumed with Range when the connection breaks. */
  fetchBlob(
    repository: string,
    desc: Pick<Descriptor, 'digest' | 'size'>,
    options: FetchBlobOptions = {},
  ): Promise<Readable> {
    return fetchBlob(this.#session, repository, desc, options);
  }

  /** Uploads a blob from a stream (monolithic or chunked, optionally mounting first). */
  pushBlob(
    repository: string,
    desc: Pick<Descriptor, 'digest' | 'size'>,
    content: Readable,
    options: UploadOptions = {},
  ): Promise<{ mounted: boolean }> {
    return pushBlob(this.#session, repository, desc, content, {
      ...(this.#options.chunkSize !== undefined && { chunkSize: this.#options.chunkSize }),
      ...(this.#options.chunkedThreshold !== undefined && {
        chunkedThreshold: this.#options.chunkedThreshold,
      }),
      ...options,
    });
  }

  /**
   * Uploads content whose digest is known only at its end (POST, one streamed PATCH, PUT with
   * the digest computed on the way); returns that digest and the size.
   */
  ingestBlob(
    repository: string,
    content: Readable,
    options: BlobRequestOptions = {},
  ): Promise<{ digest: Digest; size: number }> {
    return ingestBlob(this.#session, repository, content, options);
  }

  /** Mounts a blob from another repository of this registry; false when the registry would not. */
  mountBlob(
    repository: string,
    digest: string,
    from: string,
    options: BlobRequestOptions = {},
  ): Promise<boolean> {
    return mountBlob(this.#session, repository, digest, from, options);
  }

  deleteBlob(repository: string, digest: string): Promise<void> {
    return deleteByDigest(this.#session, repository, 'blobs', digest);
  }

  listTags(repository: string, options: ListOptions = {}): Promise<string[]> {
    return listTags(this.#session, repository, options);
  }

  tagPages(repository: string, options: ListOptions = {}): AsyncGenerator<string[]> {
    return tagPages(this.#session, repository, options);
  }

  /** The registry's repositories (`/v2/_catalog`). */
  listRepositories(options: ListOptions = {}): Promise<string[]> {
    return listRepositories(this.#session, options);
  }

  /** Manifests that refer to `subject` (referrers API, or the `sha256-<hex>` tag fallback). */
  listReferrers(repository: string, subject: string, options: ReferrersOptions = {}): Promise<Descriptor[]> {
    return listReferrers(this.#session, repository, subject, options);
  }

  /** Closes the connections. */
  async close(): Promise<void> {
    const dispatcher = await this.#dispatcher;
    this.#dispatcher = undefined;
    await dispatcher?.close();
  }
}

/** The registry accepted it; a document oci-spec cannot read simply has no referrers to record. */
function parseManifestOrUndefined(bytes: Uint8Array, mediaType: string): ParsedManifest | undefined {
  try {
    return parseManifest(bytes, mediaType);
  } catch {
    return undefined;
  }
}
