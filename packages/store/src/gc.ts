import { createReadStream } from 'node:fs';
import { open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { computeStreamDigest, type DigestAlgorithm, isDigest } from '@concil/oci-spec';
import pLimit from 'p-limit';
import { removeLeftovers, sizeOf } from './atomic-file.js';
import { contentOf } from './cached-image.js';
import { asLayerRecord } from './layer-record.js';
import { acquireLock } from './lock.js';
import { listRefRecords, type RefRecord, removeRefRecord } from './refs.js';
import type { Store } from './store.js';

export interface CachedImageInfo {
  reference: string;
  digest: string;
  /** Bytes of every blob and squashfs image it keeps (shared ones counted for each image). */
  size: number;
  /** Milliseconds since the epoch. */
  lastUsed: number;
  resolvedAt: number;
  platform?: string;
}

export interface PruneOptions {
  /** Remove every image and everything cached. */
  all?: boolean;
}

export interface GcOptions {
  /**
   * Content no image keeps is removed once unused for this long (seconds; default 3600), so that
   * a pull running meanwhile keeps the blobs it wrote before it records its image.
   */
  graceSeconds?: number;
}

export interface GcResult {
  removedImages: string[];
  removedFiles: number;
  freedBytes: number;
}

export interface VerifyProblem {
  kind: 'blob' | 'squashfs' | 'layer-record' | 'reference';
  subject: string;
  path: string;
  problem: string;
}

export interface VerifyResult {
  checked: number;
  problems: VerifyProblem[];
}

/** The images the cache holds, with what they keep and when they were last used. */
export async function listImages(store: Store): Promise<CachedImageInfo[]> {
  const images: CachedImageInfo[] = [];
  for (const record of await listRefRecords(store.layout)) {
    const { bytes } = await keptFiles(store, [record]);
    images.push({
      reference: record.reference,
      digest: record.root.digest,
      size: bytes,
      lastUsed: record.lastUsed,
      resolvedAt: record.resolvedAt,
      ...(record.platform && {
        platform: [record.platform.os, record.platform.architecture, record.platform.variant]
          .filter(Boolean)
          .join('/'),
      }),
    });
  }
  return images;
}

/**
 * Removes images unused for longer than `cache_timeout` (0: never), then, while the cache is
 * larger than `cache_max_bytes`, the least recently used image; then collects what no image
 * keeps. An image that stays keeps every blob and squashfs image it references.
 */
export async function prune(store: Store, options: PruneOptions & GcOptions = {}): Promise<GcResult> {
  return withGcLock(store, async () => {
    const removedImages: string[] = [];
    let records = await listRefRecords(store.layout);
    const now = store.now();
    const timeoutMs = store.config.cache_timeout * 1000;
    for (const record of records) {
      const expired = timeoutMs > 0 && now - record.lastUsed > timeoutMs;
      if (options.all || expired) {
        await removeRefRecord(store.layout, record.reference);
        removedImages.push(record.reference);
      }
    }
    const graceSeconds = options.all ? 0 : options.graceSeconds;
    const result = await sweep(store, graceSeconds);
    const max = store.config.cache_max_bytes;
    if (max !== null && !options.all) {
      records = (await listRefRecords(store.layout)).sort((a, b) => a.lastUsed - b.lastUsed);
      let total = await storeSize(store);
      while (total > max && records.length > 0) {
        const oldest = records.shift()!;
        await removeRefRecord(store.layout, oldest.reference);
        removedImages.push(oldest.reference);
        const swept = await sweep(store, graceSeconds);
        result.removedFiles += swept.removedFiles;
        result.freedBytes += swept.freedBytes;
        total = await storeSize(store);
      }
    }
    return { ...result, removedImages };
  });
}

/** Removes what no image keeps (after the grace time), and what killed processes left. */
export async function gc(store: Store, options: GcOptions = {}): Promise<GcResult> {
  return withGcLock(store, async () => ({
    ...(await sweep(store, options.graceSeconds)),
    removedImages: [],
  }));
}

async function withGcLock<T>(store: Store, run: () => Promise<T>): Promise<T> {
  const release = await acquireLock(store.layout.lockPath('gc'), { staleMs: store.lockStaleMs });
  try {
    return await run();
  } finally {
    await release?.();
  }
}

async function sweep(store: Store, graceSeconds = 3600): Promise<Omit<GcResult, 'removedImages'>> {
  const layout = store.layout;
  const records = await listRefRecords(layout);
  const { blobs, diffIds } = await keptFiles(store, records);
  const cutoff = store.now() - graceSeconds * 1000;
  const leftovers = await removeLeftovers(layout.tmpDir);
  let removedFiles = leftovers.removed;
  let freedBytes = leftovers.bytes;
  const removeIfOld = async (path: string): Promise<void> => {
    const info = await stat(path).catch(() => undefined);
    if (!info || Math.max(info.atimeMs, info.mtimeMs) > cutoff) return;
    await rm(path, { force: true });
    removedFiles++;
    freedBytes += info.size;
  };
  // Locks left by killed processes: their holder no longer refreshes them.
  const staleCutoff = store.now() - Math.max(2 * store.lockStaleMs, 60_000);
  for (const name of await readdir(layout.locksDir).catch(() => [] as string[])) {
    if (name === 'gc.lock') continue;
    const info = await stat(join(layout.locksDir, name)).catch(() => undefined);
    if (info && info.mtimeMs < staleCutoff) {
      await rm(join(layout.locksDir, name), { recursive: true, force: true });
      removedFiles++;
    }
  }
  for (const { digest, path } of await listDigestFiles(layout.layersDir, '.json')) {
    if (!blobs.has(digest)) await removeIfOld(path);
  }
  for (const { digest, path } of await listDigestFiles(layout.blobsDir)) {
    if (!blobs.has(digest)) await removeIfOld(path);
  }
  for (const { digest, path } of await listDigestFiles(layout.squashfsDir)) {
    if (!diffIds.has(digest)) await removeIfOld(path);
  }
  return { removedFiles, freedBytes };
}

/** The blobs and squashfs images that references keep, and their bytes on disk. */
async function keptFiles(
  store: Store,
  records: RefRecord[],
): Promise<{ blobs: Set<string>; diffIds: Set<string>; bytes: number }> {
  const blobs = new Set<string>();
  const diffIds = new Set<string>();
  for (const record of records) for (const digest of await contentOf(store, record)) blobs.add(digest);
  let bytes = 0;
  for (const digest of blobs) {
    bytes += (await sizeOf(store.layout.blobPath(digest))) ?? 0;
    const layer = await readLayerRecord(store, digest);
    if (layer?.squashfs && isDigest(layer.diffId) && !diffIds.has(layer.diffId)) {
      diffIds.add(layer.diffId);
      bytes += (await sizeOf(store.layout.squashfsPath(layer.diffId))) ?? 0;
    }
  }
  return { blobs, diffIds, bytes };
}

async function readLayerRecord(store: Store, digest: string) {
  try {
    return asLayerRecord(JSON.parse(await readFile(store.layout.layerRecordPath(digest), 'utf8')));
  } catch {
    return undefined;
  }
}

/** Bytes of every blob and squashfs image in the store. */
export async function storeSize(store: Store): Promise<number> {
  let total = 0;
  for (const dir of [store.layout.blobsDir, store.layout.squashfsDir]) {
    for (const { path } of await listDigestFiles(dir)) total += (await sizeOf(path)) ?? 0;
  }
  return total;
}

/** Files named `<algorithm>/<hex>[suffix]` under a directory, with the digest they stand for. */
async function listDigestFiles(dir: string, suffix = ''): Promise<{ digest: string; path: string }[]> {
  const files: { digest: string; path: string }[] = [];
  for (const algorithm of await readdir(dir).catch(() => [] as string[])) {
    for (const name of await readdir(join(dir, algorithm)).catch(() => [] as string[])) {
      const hex = suffix && name.endsWith(suffix) ? name.slice(0, -suffix.length) : name;
      files.push({ digest: `${algorithm}:${hex}`, path: join(dir, algorithm, name) });
    }
  }
  return files;
}

/**
 * Re-hashes every blob and checks every squashfs image and record; removes what is damaged, so
 * that the next pull fetches it again.
 */
export async function verify(store: Store, options: { concurrency?: number } = {}): Promise<VerifyResult> {
  const layout = store.layout;
  const problems: VerifyProblem[] = [];
  let checked = 0;
  const limit = pLimit(options.concurrency ?? 2);
  await Promise.all(
    (await listDigestFiles(layout.blobsDir)).map(({ digest, path }) =>
      limit(async () => {
        checked++;
        const problem = await checkBlob(digest, path);
        if (problem) {
          await rm(path, { force: true });
          problems.push({ kind: 'blob', subject: digest, path, problem });
        }
      }),
    ),
  );
  for (const { digest, path } of await listDigestFiles(layout.layersDir, '.json')) {
    checked++;
    const record = await readLayerRecord(store, digest);
    let problem: string | undefined;
    if (!record || record.digest !== digest || !isDigest(record.diffId)) problem = 'unreadable layer record';
    else if (record.squashfs) {
      const sqfs = layout.squashfsPath(record.diffId);
      problem = await checkSquashfs(sqfs, record.squashfs.size);
      if (problem) {
        await rm(sqfs, { force: true });
        problems.push({ kind: 'squashfs', subject: record.diffId, path: sqfs, problem });
        problem = `its squashfs image is damaged (${problem})`;
      }
    }
    if (problem) {
      await rm(path, { force: true });
      problems.push({ kind: 'layer-record', subject: digest, path, problem });
    }
  }
  for (const record of await listRefRecords(layout)) {
    checked++;
    if ((await sizeOf(layout.blobPath(record.root.digest))) !== record.root.size) {
      await removeRefRecord(layout, record.reference);
      problems.push({
        kind: 'reference',
        subject: record.reference,
        path: layout.blobPath(record.root.digest),
        problem: 'its root manifest is missing or damaged',
      });
    }
  }
  return { checked, problems };
}

async function checkBlob(digest: string, path: string): Promise<string | undefined> {
  if (!isDigest(digest)) return 'not named by a digest';
  const algorithm = digest.slice(0, digest.indexOf(':')) as DigestAlgorithm;
  const actual = await computeStreamDigest(createReadStream(path, { highWaterMark: 1 << 20 }), algorithm);
  return actual.digest === digest ? undefined : `content hashes to ${actual.digest}`;
}

async function checkSquashfs(path: string, size: number): Promise<string | undefined> {
  const actual = await sizeOf(path);
  if (actual === undefined) return 'missing';
  if (actual !== size) return `${actual} bytes instead of ${size}`;
  const head = Buffer.alloc(48);
  const handle = await open(path, 'r');
  try {
    await handle.read(head, 0, 48, 0);
  } finally {
    await handle.close();
  }
  if (head.toString('latin1', 0, 4) !== 'hsqs') return 'no squashfs superblock';
  const bytesUsed = Number(head.readBigUInt64LE(40));
  if (bytesUsed > actual) return `the superblock says ${bytesUsed} bytes, the file has ${actual}`;
  return undefined;
}
