import type { Readable } from 'node:stream';
import type { Descriptor } from './descriptor.js';
import { type ParsedManifest, parseManifest } from './manifest.js';
import { ensureVerified, type VerifyingStream, verifyBytes } from './verify-stream.js';

/**
 * The content interfaces every place that holds images implements (in the spirit of oras-go).
 * A registry repository, an image directory, an OCI layout and the store are all targets; the
 * one graph copy in `@concil/image` moves content between any two of them.
 */

export interface FetchOptions {
  signal?: AbortSignal;
}

/** Reads content by descriptor. The bytes are not yet verified: use `fetchVerified`. */
export interface Fetcher {
  fetch(desc: Descriptor, options?: FetchOptions): Promise<Readable>;
}

/**
 * Reads small content (a manifest, a config) whole, without a stream: a target of local files
 * reads the file. Optional; `fetchBytes` uses it where a target has it and verifies the bytes
 * itself. A stream, a hash per chunk and the verifying pass cost more than reading a few KiB
 * (a tenth of listing an image directory).
 */
export interface SmallContentReader {
  readSmall(desc: Descriptor, options?: FetchOptions): Promise<Uint8Array>;
}

/** Stores content under its descriptor; keeps nothing unless every byte matches it. */
export interface Pusher {
  push(desc: Descriptor, content: Readable, options?: FetchOptions): Promise<void>;
}

/**
 * Stores content whose digest is known only at its end (a layer transform's output): hashes it
 * while writing, names it by that digest last, and returns its descriptor. Keeps nothing unless
 * the content ended without error.
 */
export interface Ingester {
  ingest(mediaType: string, content: Readable, options?: FetchOptions): Promise<Descriptor>;
}

/**
 * Takes content that a writer made as a finished local file (a squashfs image, which is written
 * out of order and so cannot be streamed) without a second copy of its bytes: the file is made
 * where `ingestPath` says, on the target's own file system, and renamed into place.
 */
export interface FileIngester {
  /**
   * A new, unused path on the target's file system for such a file. The caller writes it, then
   * hands it to `ingestFile`; the caller removes it if it does not (a failed write).
   */
  ingestPath(options?: FetchOptions): Promise<string>;
  /**
   * Stores the file at `path` as a blob of `mediaType`: hashes it (one read), renames it to the
   * name its digest gives (copies it where `path` lies on another file system) and returns its
   * descriptor. The file is gone afterwards. Like `ingest`, what a failed copy took is dropped on
   * `abort()`.
   */
  ingestFile(mediaType: string, path: string, options?: FetchOptions): Promise<Descriptor>;
}

export interface ExistenceChecker {
  exists(desc: Descriptor): Promise<boolean>;
}

/** Resolves a reference (a tag, a digest, or nothing for a target holding one image) to its root. */
export interface Resolver {
  resolve(reference?: string): Promise<Descriptor>;
}

/** Points a reference at a manifest or index that the target already holds. */
export interface Tagger {
  tag(desc: Descriptor, reference?: string): Promise<void>;
}

/**
 * Lists the manifests that refer to a subject (OCI 1.1 `subject`): a registry's referrers API, or
 * its referrers tag schema index (`sha256-<hex>`) where it has no API. Optional: targets without it
 * are read through the tag schema by whoever needs referrers.
 */
export interface ReferrerLister {
  referrers(subject: string, options?: FetchOptions & { artifactType?: string }): Promise<Descriptor[]>;
}

/**
 * Fetches a manifest by tag or digest in one request (a registry's GET, where `resolve` then
 * `fetch` take two): its descriptor and bytes, which hash to `descriptor.digest` (the reference,
 * when it is a digest). Without a reference, the one `resolve()` would resolve. Optional:
 * `fetchReferencedManifest` falls back to resolve and fetch.
 */
export interface ReferenceFetcher {
  fetchReference(
    reference?: string,
    options?: FetchOptions,
  ): Promise<{ descriptor: Descriptor; bytes: Uint8Array }>;
}

export interface ReadOnlyTarget extends Fetcher, ExistenceChecker, Resolver {
  /** How the target is shown to a person, e.g. `docker://host/repo` or `dir:/path`. */
  readonly name: string;
}

export interface Target extends ReadOnlyTarget, Pusher, Tagger {
  /**
   * The target holds OCI manifests and indexes only (an OCI image layout): a copy converts
   * Docker ones on the way in, which changes their digests.
   */
  readonly requiresOciManifests?: boolean;
  /**
   * Makes a blob available from another target without copying bytes (a registry's cross-
   * repository mount). Returns false when it cannot, and the caller copies instead.
   */
  mount?(desc: Descriptor, from: ReadOnlyTarget): Promise<boolean>;
  /**
   * Takes content of unknown digest (see `Ingester`). Targets without it are served by
   * `ingestBlob` of `@concil/image`, which spools the content to a temporary file first.
   */
  ingest?: Ingester['ingest'];
  /**
   * Take a finished local file by rename (see `FileIngester`); both or neither. Targets without
   * them (a registry) are served by `ingestWrittenFile` of `@concil/image`, which streams the file
   * into `ingest`.
   */
  ingestPath?: FileIngester['ingestPath'];
  ingestFile?: FileIngester['ingestFile'];
  /** Makes everything pushed visible at once, after the copy succeeded. */
  commit?(): Promise<void>;
  /** Drops everything staged, after the copy failed: the destination stays as it was. */
  abort?(): Promise<void>;
}

/** The content of a descriptor as a stream that errors unless every byte matches it. */
export async function fetchVerified(
  fetcher: Fetcher,
  desc: Descriptor,
  options?: FetchOptions,
): Promise<VerifyingStream> {
  return ensureVerified(await fetcher.fetch(desc, options), desc);
}

/** The verified bytes of small content (manifests, configs): never use it for layers. */
export async function fetchBytes(
  fetcher: Fetcher,
  desc: Descriptor,
  options?: FetchOptions,
): Promise<Uint8Array> {
  const reader = fetcher as Fetcher & Partial<SmallContentReader>;
  if (reader.readSmall) return verifyBytes(await reader.readSmall(desc, options), desc);
  const chunks: Buffer[] = [];
  for await (const chunk of await fetchVerified(fetcher, desc, options)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Fetches, verifies and parses a manifest or index. */
export async function fetchManifest(
  fetcher: Fetcher,
  desc: Descriptor,
  options?: FetchOptions,
): Promise<ParsedManifest> {
  return parseManifest(await fetchBytes(fetcher, desc, options), desc.mediaType, desc.digest);
}

/**
 * The manifest or index a reference names (the target's own without one), with its descriptor:
 * in one request where the target can (`ReferenceFetcher`, a registry's GET by tag), else
 * resolved, then fetched and verified.
 */
export async function fetchReferencedManifest(
  target: ReadOnlyTarget & Partial<ReferenceFetcher>,
  reference?: string,
  options?: FetchOptions,
): Promise<{ descriptor: Descriptor; manifest: ParsedManifest }> {
  if (target.fetchReference) {
    const { descriptor, bytes } = await target.fetchReference(reference, options);
    return { descriptor, manifest: parseManifest(bytes, descriptor.mediaType, descriptor.digest) };
  }
  const descriptor = await target.resolve(reference);
  return { descriptor, manifest: await fetchManifest(target, descriptor, options) };
}
