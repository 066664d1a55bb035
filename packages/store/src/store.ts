import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { type Descriptor, type Digest, isDigest, type Platform, type ReadOnlyTarget } from '@concil/oci-spec';
import type { OpenRegistryTargetOptions } from '@concil/registry-client';
import { sizeOf, touchAccess, writeFileAtomic } from './atomic-file.js';
import { type CachedImage, readCachedImage } from './cached-image.js';
import { type ConcilConfig, loadConfig } from './config.js';
import {
  type CachedImageInfo,
  type GcOptions,
  type GcResult,
  gc,
  listImages,
  type PruneOptions,
  prune,
  type VerifyResult,
  verify,
} from './gc.js';
import { asLayerRecord, type LayerRecord } from './layer-record.js';
import { StoreLayout } from './layout.js';
import { acquireLock, type Release } from './lock.js';
import { type PullOptions, type PullResult, pullImage } from './pull.js';
import { ReadThroughTarget } from './read-through-target.js';
import { readRefRecord, writeRefRecord } from './refs.js';
import { openRegistrySource } from './registry-source.js';
import { normalizeReference, StoreTarget, type StoreTargetOptions } from './store-target.js';
import type { TrustVerifier } from './trust.js';

export interface StoreOptions {
  /** The configuration in force; read with `loadConfig()` when not given. */
  config?: ConcilConfig;
  /** Overrides the configuration's `cache_dir`. */
  cacheDir?: string;
  /** A blob lock not refreshed for this long belonged to a process that died; default 10 s. */
  lockStaleMs?: number;
  /** Asked before a manifest is trusted, when trust is required. */
  trustVerifier?: TrustVerifier;
  /** Opens the registry repository of a reference; `@concil/registry-client` by default. */
  openSource?: (
    reference: string,
    config: ConcilConfig,
    options: OpenRegistryTargetOptions,
  ) => Promise<ReadOnlyTarget>;
  /** The clock, in milliseconds (tests move it). */
  now?: () => number;
}

/** Opens (and creates) the store under the configuration's cache directory. */
export async function openStore(options: StoreOptions = {}): Promise<Store> {
  const config = options.config ?? (await loadConfig()).config;
  const store = new Store(config, options);
  await store.init();
  return store;
}

/**
 * The local content store: content-addressed blobs (manifests, configs, layers), squashfs
 * conversions of layers, and per-reference records. Everything written is verified first and
 * renamed into place; nothing partial is ever served.
 */
export class Store {
  readonly config: ConcilConfig;
  readonly layout: StoreLayout;
  readonly lockStaleMs: number;
  readonly trustVerifier: TrustVerifier | undefined;
  readonly #openSource: StoreOptions['openSource'];
  readonly #now: () => number;

  constructor(config: ConcilConfig, options: StoreOptions = {}) {
    this.config = config;
    this.layout = new StoreLayout(options.cacheDir ?? config.cache_dir);
    this.lockStaleMs = options.lockStaleMs ?? 10_000;
    this.trustVerifier = options.trustVerifier;
    this.#openSource = options.openSource;
    this.#now = options.now ?? Date.now;
  }

  now(): number {
    return this.#now();
  }

  /**
   * Creates the directories. What killed processes left is removed by the next pull and by `gc`,
   * which reports it: opening the store (`cache ls`) changes nothing.
   */
  async init(): Promise<void> {
    for (const dir of this.layout.directories) await mkdir(dir, { recursive: true });
    for (const algorithm of ['sha256', 'sha512']) {
      await mkdir(join(this.layout.blobsDir, algorithm), { recursive: true });
      await mkdir(join(this.layout.squashfsDir, algorithm), { recursive: true });
      await mkdir(join(this.layout.layersDir, algorithm), { recursive: true });
    }
  }

  /** A target for the copy engine that writes into the store. */
  target(options: StoreTargetOptions = {}): StoreTarget {
    return new StoreTarget(this, options);
  }

  /**
   * The registry repository of a reference, as the configuration says to reach it, `options`
   * (credentials, TLS, plain HTTP: e.g. command-line flags) taking precedence.
   */
  async openSource(reference: string, options: OpenRegistryTargetOptions = {}): Promise<ReadOnlyTarget> {
    if (this.#openSource) return this.#openSource(reference, this.config, options);
    return openRegistrySource(reference, this.config, options);
  }

  /**
   * Whether the blob is in the store whole. A file whose size no longer matches was damaged: it
   * is removed, so that it is fetched again.
   */
  async hasBlob(desc: Pick<Descriptor, 'digest' | 'size'>): Promise<boolean> {
    const path = this.layout.blobPath(desc.digest);
    const size = await sizeOf(path);
    if (size === undefined) return false;
    if (size !== desc.size) {
      await rm(path, { force: true });
      return false;
    }
    await touchAccess(path, this.now());
    return true;
  }

  /** The blob's bytes as a stream, or undefined when it is not (or no longer) whole. */
  async openBlob(desc: Pick<Descriptor, 'digest' | 'size'>): Promise<Readable | undefined> {
    if (!(await this.hasBlob(desc))) return undefined;
    return createReadStream(this.layout.blobPath(desc.digest), { highWaterMark: 1 << 20 });
  }

  /** Small content (manifests, configs) by digest, without a size to check it against. */
  async readBlobBytes(digest: string): Promise<Uint8Array | undefined> {
    if (!isDigest(digest)) return undefined;
    try {
      return await readFile(this.layout.blobPath(digest));
    } catch {
      return undefined;
    }
  }

  /** Stores small verified content (a manifest already fetched) under its descriptor. */
  async putBlobBytes(desc: Descriptor, bytes: Uint8Array): Promise<void> {
    if (await this.hasBlob(desc)) return;
    await writeFileAtomic(this.layout.tmpDir, this.layout.blobPath(desc.digest), bytes);
  }

  /** Takes the blob's lock across processes (see `acquireLock`). */
  lockBlob(
    desc: Pick<Descriptor, 'digest'>,
    satisfied?: () => Promise<boolean>,
  ): Promise<Release | undefined> {
    return acquireLock(this.layout.blobLockPath(desc.digest), {
      staleMs: this.lockStaleMs,
      ...(satisfied && { satisfied }),
    });
  }

  /** The record of a layer blob converted to squashfs, if its squashfs image is there whole. */
  async layerRecord(layerDigest: string): Promise<LayerRecord | undefined> {
    let record: LayerRecord | undefined;
    try {
      record = asLayerRecord(JSON.parse(await readFile(this.layout.layerRecordPath(layerDigest), 'utf8')));
    } catch {
      return undefined;
    }
    if (!record) return undefined;
    if (!record.squashfs || !isDigest(record.diffId)) return record;
    const size = await sizeOf(this.layout.squashfsPath(record.diffId));
    return size === record.squashfs.size ? record : undefined;
  }

  /** The squashfs image of a layer, by the layer's digest or by the diff_id of its tar. */
  async squashfsPath(digestOrDiffId: string): Promise<string | undefined> {
    const record = await this.layerRecord(digestOrDiffId);
    const diffId = record?.squashfs ? record.diffId : digestOrDiffId;
    if (!isDigest(diffId)) return undefined;
    const path = this.layout.squashfsPath(diffId);
    if ((await sizeOf(path)) === undefined) return undefined;
    await touchAccess(path, this.now());
    return path;
  }

  /** Moves a finished squashfs image into place and records it for the layer. */
  async recordSquashfs(layerDigest: string, diffId: Digest, squashfsTmp: string): Promise<LayerRecord> {
    const path = this.layout.squashfsPath(diffId);
    let size = await sizeOf(path);
    if (size === undefined) {
      size = (await sizeOf(squashfsTmp)) ?? 0;
      await rename(squashfsTmp, path);
    }
    const record: LayerRecord = { digest: layerDigest, diffId, squashfs: { size } };
    await writeFileAtomic(
      this.layout.tmpDir,
      this.layout.layerRecordPath(layerDigest),
      JSON.stringify(record),
    );
    return record;
  }

  /** Pulls an image into the store (see `pullImage`). */
  pull(reference: string, options: PullOptions = {}): Promise<PullResult> {
    return pullImage(this, reference, options);
  }

  /**
   * The cached image of a reference, without asking any registry, or undefined when the cache
   * does not hold it whole. Records the use.
   */
  async image(reference: string, options: { platform?: Platform } = {}): Promise<CachedImage | undefined> {
    const key = normalizeReference(reference);
    const record = await readRefRecord(this.layout, key);
    if (!record) return undefined;
    const image = await readCachedImage(this, key, record.root, options.platform ?? record.platform);
    if (image)
      await writeRefRecord(this.layout, { ...record, lastUsed: Math.max(record.lastUsed, this.now()) });
    return image;
  }

  /**
   * A read-only target serving a cached image (for `concil copy` from the cache), or undefined
   * when the cache does not hold it whole (then copy from the registry). `resolve()` without a
   * reference resolves the cached image; blobs are served only when whole. An image with encrypted
   * layers (cached only decrypted, as squashfs) is not served: copy it from the registry.
   */
  async cachedTarget(
    reference: string,
    options: { platform?: Platform } = {},
  ): Promise<ReadOnlyTarget | undefined> {
    const image = await this.image(reference, options);
    // An encrypted layer is cached only as its squashfs image: the blob a copy reads is not here.
    if (!image || image.layers.some((layer) => layer.path === undefined)) return undefined;
    return new StoreTarget(this, { reference: image.reference });
  }

  /**
   * A read-only target serving every platform of a cached reference (for `concil copy --all` from
   * the cache): the root as cached, each blob from the cache when it holds it whole, else from
   * `fallback`; undefined when the cache does not hold the reference's root. Records the use.
   */
  async cachedIndexTarget(reference: string, fallback: ReadOnlyTarget): Promise<ReadOnlyTarget | undefined> {
    const key = normalizeReference(reference);
    const record = await readRefRecord(this.layout, key);
    if (!record || !(await this.hasBlob(record.root))) return undefined;
    await writeRefRecord(this.layout, { ...record, lastUsed: Math.max(record.lastUsed, this.now()) });
    return new ReadThroughTarget(this, new StoreTarget(this, { reference: key }), fallback);
  }

  /** The images the cache holds, with their size and last use. */
  list(): Promise<CachedImageInfo[]> {
    return listImages(this);
  }

  /** Expires images by last use and bounds the size, then collects (see `prune`). */
  prune(options: PruneOptions & GcOptions = {}): Promise<GcResult> {
    return prune(this, options);
  }

  /** Removes what no image keeps and what killed processes left (see `gc`). */
  gc(options: GcOptions = {}): Promise<GcResult> {
    return gc(this, options);
  }

  /** Re-hashes everything; removes and reports what is damaged (see `verify`). */
  verify(): Promise<VerifyResult> {
    return verify(this);
  }
}
