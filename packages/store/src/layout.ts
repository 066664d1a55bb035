import { join } from 'node:path';
import { parseDigest } from '@concil/oci-spec';

/**
 * Where things live under the cache directory. Every path built from a digest goes through
 * `parseDigest`, which refuses anything that is not an algorithm and lowercase hex.
 *
 * ```
 * <cache_dir>/store/
 *   blobs/sha256/<hex>          manifests, indexes, configs and layers as fetched
 *   squashfs/sha256/<hex>       layers converted to squashfs, by the diff_id of their tar
 *   layers/sha256/<hex>.json    per layer digest: its diff_id and its squashfs (found by either)
 *   refs/<sha256 of ref>.json   per reference: the root digest, when it was resolved, last use
 *   tmp/                        partial writes (<pid>-<random>); renamed in only when verified
 *   locks/                      one lock directory per blob being written (proper-lockfile)
 * ```
 */
export class StoreLayout {
  readonly root: string;
  readonly blobsDir: string;
  readonly squashfsDir: string;
  readonly layersDir: string;
  readonly refsDir: string;
  readonly tmpDir: string;
  readonly locksDir: string;

  constructor(cacheDir: string) {
    this.root = join(cacheDir, 'store');
    this.blobsDir = join(this.root, 'blobs');
    this.squashfsDir = join(this.root, 'squashfs');
    this.layersDir = join(this.root, 'layers');
    this.refsDir = join(this.root, 'refs');
    this.tmpDir = join(this.root, 'tmp');
    this.locksDir = join(this.root, 'locks');
  }

  get directories(): string[] {
    return [this.blobsDir, this.squashfsDir, this.layersDir, this.refsDir, this.tmpDir, this.locksDir];
  }

  blobPath(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.blobsDir, algorithm, hex);
  }

  /** The squashfs image of a layer, by the diff_id (digest of the uncompressed tar). */
  squashfsPath(diffId: string): string {
    const { algorithm, hex } = parseDigest(diffId);
    return join(this.squashfsDir, algorithm, hex);
  }

  /** The record of a layer blob: its diff_id and squashfs. */
  layerRecordPath(layerDigest: string): string {
    const { algorithm, hex } = parseDigest(layerDigest);
    return join(this.layersDir, algorithm, `${hex}.json`);
  }

  lockPath(name: string): string {
    return join(this.locksDir, `${name}.lock`);
  }

  blobLockPath(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return this.lockPath(`${algorithm}-${hex}`);
  }
}
