import {
  type Descriptor,
  defaultPlatform,
  fetchManifest,
  fetchVerified,
  layerKindOf,
  type ParsedManifest,
  type Platform,
  type ReadOnlyTarget,
  selectPlatform,
  type Target,
} from '@concil/oci-spec';
import pLimit from 'p-limit';
import { bytesStream } from './bytes-stream.js';

export interface CopyOptions {
  /** The tag or digest to copy from the source (targets holding one image ignore it). */
  reference?: string;
  /** The tag to give the copy at the destination. */
  dstReference?: string;
  /** Which image of a multi-platform index to copy; this machine's platform by default. */
  platform?: Platform;
  /** Copy the whole index with every platform's image. */
  all?: boolean;
  /** How many blobs move at once. */
  concurrency?: number;
  onProgress?: (event: CopyProgress) => void;
  signal?: AbortSignal;
}

export type CopyProgress =
  | { type: 'blob'; desc: Descriptor; state: 'start' | 'done' | 'skipped' | 'mounted' }
  | { type: 'bytes'; desc: Descriptor; bytes: number };

export interface CopyResult {
  /** The root that was copied and tagged: an index with `all`, else one image manifest. */
  descriptor: Descriptor;
  blobsCopied: number;
  blobsSkipped: number;
  blobsMounted: number;
  bytesCopied: number;
}

const DEFAULT_CONCURRENCY = 4;

/**
 * The one graph copy: index → manifests → config and layers, from any source to any target.
 * Blobs the destination has are skipped, the rest move in parallel, each verified byte by byte;
 * manifests are pushed after their blobs and the root last, then the destination commits.
 */
export async function copy(src: ReadOnlyTarget, dst: Target, options: CopyOptions = {}): Promise<CopyResult> {
  const run = new CopyRun(src, dst, options);
  try {
    const root = await src.resolve(options.reference);
    const top = await run.copyRoot(root);
    await dst.tag(top, options.dstReference);
    await dst.commit?.();
    return { descriptor: top, ...run.counts };
  } catch (error) {
    await dst.abort?.();
    throw error;
  }
}

class CopyRun {
  readonly counts = { blobsCopied: 0, blobsSkipped: 0, blobsMounted: 0, bytesCopied: 0 };
  readonly #limit: ReturnType<typeof pLimit>;
  readonly #blobs = new Map<string, Promise<void>>();
  /** Aborted on the first failure, so the other transfers stop instead of running on. */
  readonly #failed = new AbortController();
  readonly #signal: AbortSignal;

  constructor(
    readonly src: ReadOnlyTarget,
    readonly dst: Target,
    readonly options: CopyOptions,
  ) {
    this.#limit = pLimit(options.concurrency ?? DEFAULT_CONCURRENCY);
    this.#signal = options.signal
      ? AbortSignal.any([options.signal, this.#failed.signal])
      : this.#failed.signal;
  }

  async copyRoot(root: Descriptor): Promise<Descriptor> {
    const parsed = await fetchManifest(this.src, root, this.#fetchOptions());
    if (parsed.kind === 'manifest') {
      await this.copyImage(root, parsed);
      return bareDescriptor(root);
    }
    if (!this.options.all) {
      const chosen = selectPlatform(parsed.index, this.options.platform ?? defaultPlatform(), this.src.name);
      await this.copyImage(chosen, await fetchManifest(this.src, chosen, this.#fetchOptions()));
      return bareDescriptor(chosen);
    }
    await this.#all(parsed.index.manifests.map((child) => this.copyRoot(child)));
    await this.pushManifest(root, parsed);
    return bareDescriptor(root);
  }

  async copyImage(desc: Descriptor, parsed: ParsedManifest): Promise<void> {
    if (parsed.kind !== 'manifest') return;
    const blobs = [parsed.manifest.config, ...parsed.manifest.layers.filter((layer) => !isForeign(layer))];
    await this.#all(blobs.map((blob) => this.copyBlob(blob)));
    await this.pushManifest(desc, parsed);
  }

  async pushManifest(desc: Descriptor, parsed: ParsedManifest): Promise<void> {
    if (await this.dst.exists(desc)) return;
    await this.dst.push(bareDescriptor(desc), bytesStream(parsed.bytes), this.#fetchOptions());
  }

  copyBlob(desc: Descriptor): Promise<void> {
    let pending = this.#blobs.get(desc.digest);
    if (!pending) {
      pending = this.#limit(() => this.#transferBlob(desc));
      this.#blobs.set(desc.digest, pending);
    }
    return pending;
  }

  async #transferBlob(desc: Descriptor): Promise<void> {
    this.#signal.throwIfAborted();
    const progress = this.options.onProgress;
    if (await this.dst.exists(desc)) {
      this.counts.blobsSkipped++;
      progress?.({ type: 'blob', desc, state: 'skipped' });
      return;
    }
    if (this.dst.mount && (await this.dst.mount(desc, this.src))) {
      this.counts.blobsMounted++;
      progress?.({ type: 'blob', desc, state: 'mounted' });
      return;
    }
    progress?.({ type: 'blob', desc, state: 'start' });
    const content = await fetchVerified(this.src, desc, this.#fetchOptions());
    if (progress) content.onBytes = (bytes) => progress({ type: 'bytes', desc, bytes });
    await this.dst.push(desc, content, this.#fetchOptions());
    this.counts.blobsCopied++;
    this.counts.bytesCopied += desc.size;
    progress?.({ type: 'blob', desc, state: 'done' });
  }

  #fetchOptions() {
    return { signal: this.#signal };
  }

  /**
   * Waits for every task; on the first failure the others are aborted, and the error is thrown
   * only once all have stopped, so nothing is still writing when the destination aborts.
   */
  async #all(tasks: Promise<unknown>[]): Promise<void> {
    let first: { error: unknown } | undefined;
    await Promise.all(
      tasks.map((task) =>
        task.catch((error: unknown) => {
          first ??= { error };
          this.#failed.abort(error);
        }),
      ),
    );
    if (first) throw first.error;
  }
}

/** The descriptor without index-only fields, as a destination records its root. */
function bareDescriptor(desc: Descriptor): Descriptor {
  return { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
}

/** Non-distributable layers with URLs are fetched from those URLs at run time, not copied. */
function isForeign(layer: Descriptor): boolean {
  return layerKindOf(layer.mediaType)?.nondistributable === true && (layer.urls?.length ?? 0) > 0;
}
