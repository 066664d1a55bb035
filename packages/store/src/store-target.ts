import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { moveContentAddressedFile, writeContentAddressedFile } from '@concil/image';
import {
  type Descriptor,
  ensureVerified,
  type FetchOptions,
  formatReference,
  isDigest,
  parseManifest,
  parseReference,
  type Target,
} from '@concil/oci-spec';
import { temporaryPath } from './atomic-file.js';
import { StoreError } from './errors.js';
import type { Release } from './lock.js';
import { readRefRecord, writeRefRecord } from './refs.js';
import type { Store } from './store.js';

/**
 * How much a blob file being written queues: 256 KiB, as the image package's writes. Node's
 * default, 16 KiB, is less than one socket read: each write waited for the one before.
 */
const WRITE_QUEUE_BYTES = 256 * 1024;

export interface StoreTargetOptions {
  /** What `resolve()` without a reference resolves (a target reading one cached image). */
  reference?: string;
}

/**
 * The store as a target of the one copy engine. `exists` takes the blob's lock across processes
 * when the blob is missing, so of several processes pulling the same image one downloads each
 * blob and the others wait for it and find it; `push` writes to a temporary file, verifies every
 * byte and renames it in, then releases the lock.
 */
export class StoreTarget implements Target {
  readonly name: string;
  readonly #store: Store;
  readonly #reference: string | undefined;
  readonly #held = new Map<string, Release>();

  constructor(store: Store, options: StoreTargetOptions = {}) {
    this.#store = store;
    this.name = `store:${store.layout.root}`;
    this.#reference = options.reference;
  }

  async fetch(desc: Descriptor, _options?: FetchOptions): Promise<Readable> {
    const stream = await this.#store.openBlob(desc);
    if (!stream) {
      throw new StoreError(
        'BLOB_UNKNOWN',
        `${desc.digest} is not in the cache (or was damaged and removed); pull the image again`,
        desc.digest,
      );
    }
    return stream;
  }

  async exists(desc: Descriptor): Promise<boolean> {
    if (await this.#store.hasBlob(desc)) return true;
    if (this.#held.has(desc.digest)) return false;
    const release = await this.#store.lockBlob(desc, () => this.#store.hasBlob(desc));
    if (!release) return true;
    if (await this.#store.hasBlob(desc)) {
      await release();
      return true;
    }
    this.#held.set(desc.digest, release);
    return false;
  }

  async push(desc: Descriptor, content: Readable, options?: FetchOptions): Promise<void> {
    const verified = ensureVerified(content, desc);
    if (!this.#held.has(desc.digest) && (await this.exists(desc))) {
      verified.resume();
      await finished(verified);
      return;
    }
    const layout = this.#store.layout;
    const tmp = temporaryPath(layout.tmpDir, 'blob');
    try {
      options?.signal?.throwIfAborted();
      await pipeline(verified, createWriteStream(tmp, { highWaterMark: WRITE_QUEUE_BYTES }));
      await rename(tmp, layout.blobPath(desc.digest));
    } catch (error) {
      verified.destroy();
      throw error;
    } finally {
      await rm(tmp, { force: true });
      const release = this.#held.get(desc.digest);
      this.#held.delete(desc.digest);
      await release?.();
    }
  }

  /**
   * Content of unknown digest (a layer transform's output): written to `tmp/` while hashed, then
   * renamed in under that digest. Another process writing the same blob meanwhile writes the same
   * bytes, so whichever rename comes last changes nothing.
   */
  async ingest(mediaType: string, content: Readable, options?: FetchOptions): Promise<Descriptor> {
    options?.signal?.throwIfAborted();
    const layout = this.#store.layout;
    const written = await writeContentAddressedFile(temporaryPath(layout.tmpDir, 'blob'), content, (digest) =>
      layout.blobPath(digest),
    );
    return { mediaType, ...written };
  }

  /** In the store's `tmp/`, on its file system: a file made there is renamed into `blobs/`. */
  async ingestPath(): Promise<string> {
    return temporaryPath(this.#store.layout.tmpDir, 'blob');
  }

  /** A finished file (see `ingestPath`), hashed and renamed in under its digest, as `ingest` does. */
  async ingestFile(mediaType: string, path: string): Promise<Descriptor> {
    const layout = this.#store.layout;
    return { mediaType, ...(await moveContentAddressedFile(path, (digest) => layout.blobPath(digest))) };
  }

  async resolve(reference?: string): Promise<Descriptor> {
    const wanted = reference ?? this.#reference;
    if (!wanted) {
      throw new StoreError('MANIFEST_UNKNOWN', 'the store holds many images: name one', this.name);
    }
    if (isDigest(wanted)) return this.#descriptorOfManifest(wanted);
    const key =
      this.#reference && /^[\w][\w.-]{0,127}$/.test(wanted)
        ? // A bare tag names a tag of this target's repository, as with a registry target.
          `${parseRepository(this.#reference)}:${wanted}`
        : normalizeReference(wanted);
    const pinned = parseReference(key).digest;
    if (pinned) return this.#descriptorOfManifest(pinned);
    const record = await readRefRecord(this.#store.layout, key);
    if (!record || !(await this.#store.hasBlob(record.root))) {
      throw new StoreError('NOT_CACHED', `${key} is not in the cache; pull it first`, key);
    }
    return record.root;
  }

  async tag(desc: Descriptor, reference?: string): Promise<void> {
    const wanted = reference ?? this.#reference;
    if (!wanted || isDigest(wanted)) return;
    const now = this.#store.now();
    const key = normalizeReference(wanted);
    const previous = await readRefRecord(this.#store.layout, key);
    await writeRefRecord(this.#store.layout, {
      reference: key,
      root: { mediaType: desc.mediaType, digest: desc.digest, size: desc.size },
      resolvedAt: now,
      lastUsed: Math.max(now, previous?.lastUsed ?? 0),
    });
  }

  async commit(): Promise<void> {
    await this.#releaseAll();
  }

  async abort(): Promise<void> {
    await this.#releaseAll();
  }

  async #releaseAll(): Promise<void> {
    const releases = [...this.#held.values()];
    this.#held.clear();
    await Promise.all(releases.map((release) => release()));
  }

  async #descriptorOfManifest(digest: string): Promise<Descriptor> {
    const bytes = await this.#store.readBlobBytes(digest);
    if (!bytes) throw new StoreError('NOT_CACHED', `${digest} is not in the cache; pull it first`, digest);
    const parsed = parseManifest(bytes, undefined, digest);
    return { mediaType: parsed.mediaType, digest: digest as Descriptor['digest'], size: bytes.byteLength };
  }
}

function parseRepository(reference: string): string {
  const ref = parseReference(reference);
  return `${ref.registry}/${ref.repository}`;
}

/** The store's key for a reference: `host/repo:tag` or `host/repo@digest`, no credentials. */
export function normalizeReference(reference: string): string {
  return formatReference(parseReference(reference));
}
