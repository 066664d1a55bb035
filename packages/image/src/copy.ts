import { availableParallelism } from 'node:os';
import {
  type Descriptor,
  defaultPlatform,
  fetchBytes,
  fetchManifest,
  fetchReferencedManifest,
  fetchVerified,
  type ImageIndex,
  isIndexMediaType,
  layerKindOf,
  type ParsedManifest,
  type Platform,
  parseImageConfig,
  type ReadOnlyTarget,
  selectPlatform,
  type Target,
  withHashThread,
} from '@concil/oci-spec';
import pLimit from 'p-limit';
import { bytesStream } from './bytes-stream.js';
import { convertManifestToOci, isDockerManifest } from './convert-to-oci.js';
import {
  checkPlan,
  givesBackSource,
  type ImageEditor,
  type ImagePlan,
  type ImageToEdit,
  leavesUntouched,
  type PlannedLayer,
} from './copy-plan.js';
import { ImageError } from './errors.js';
import { ingestBlob, ingestWrittenFile } from './ingest-blob.js';
import type { LayerTransform, SourceLayer, TransformedLayer } from './layer-transform.js';
import { type EncodedContent, type OutputLayer, rewriteImage, rewriteIndex } from './rewrite-image.js';

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
  /**
   * How many layer transforms run at once (at most `concurrency`). They are bound by the CPU,
   * not the network — a squashfs conversion compresses on every core by itself — so by default
   * half the CPUs' worth, at least one: more only adds memory and contention.
   */
  transformConcurrency?: number;
  /**
   * Edits each image the copy walks (each platform's, with `all`): its layers passed through or
   * transformed (converted, filtered, added, merged), its config and manifest rewritten to match.
   */
  edit?: ImageEditor;
  onProgress?: (event: CopyProgress) => void;
  /** Stops the copy: the transfers end, the destination takes back what it wrote (`abort()`). */
  signal?: AbortSignal;
  /**
   * Keep the source as it is and the transforms' outputs beside it (a cache of converted layers,
   * as the store keeps): the source image is copied untouched — its blobs, its manifests byte for
   * byte, its root tagged — and each transform of the edit runs on its source layers once the
   * destination holds them, reading them from there; its output is ingested into the destination
   * and listed in `result.derivedLayers`. No edited config or manifest is written.
   *
   * A function keeps only the source layers it says yes to: the others are not copied (a store
   * that keeps no ciphertext), and a transform of one reads it from the source.
   */
  keepSources?: boolean | ((layer: Descriptor) => boolean);
  /**
   * Keep every manifest's digest: a Docker image that a target holding only OCI manifests (an OCI
   * layout) would have to convert is refused instead (skopeo's `--preserve-digests`).
   */
  preserveDigests?: boolean;
}

export type CopyProgress =
  | { type: 'blob'; desc: Descriptor; state: 'start' | 'done' | 'skipped' | 'mounted' }
  | { type: 'bytes'; desc: Descriptor; bytes: number };

export interface CopyResult {
  /**
   * The root that was copied and tagged, as the destination holds it (edited, or converted to
   * OCI for an OCI layout): an index with `all`, else one image manifest.
   */
  descriptor: Descriptor;
  blobsCopied: number;
  blobsSkipped: number;
  blobsMounted: number;
  bytesCopied: number;
  /** Output layers made by a layer transform (one shared by several images counts once). */
  layersTransformed: number;
  /** With `keepSources`: each transform's output, beside the source layers it was made from. */
  derivedLayers?: DerivedLayer[];
}

/** A layer a transform made, kept beside its sources (`keepSources`). */
export interface DerivedLayer {
  /** The transform's `id`. */
  transform: string;
  /** The source layers it read, with the diff_id the source config gives each. */
  sources: { descriptor: Descriptor; diffId: string | undefined }[];
  /** The new blob in the destination, and the diff_id the transform reports for it. */
  descriptor: Descriptor;
  diffId: string;
}

const DEFAULT_CONCURRENCY = 4;

/**
 * The one graph copy: index → manifests → config and layers, from any source to any target.
 * Blobs the destination has are skipped, the rest move in parallel, each verified byte by byte;
 * manifests are pushed after their blobs and the root last, then the destination commits. For a
 * target that holds only OCI manifests, Docker ones are converted on the way (media types only).
 */
export async function copy(src: ReadOnlyTarget, dst: Target, options: CopyOptions = {}): Promise<CopyResult> {
  const run = new CopyRun(src, dst, options);
  try {
    const top = await run.copyReference(options.reference);
    await dst.tag(top, options.dstReference);
    await dst.commit?.();
    return {
      descriptor: top,
      ...run.counts,
      ...(options.keepSources && { derivedLayers: await Promise.all(run.derivedLayers) }),
    };
  } catch (error) {
    await dst.abort?.();
    // Stopped through its signal, the copy fails with the signal's reason, whatever broke first.
    throw options.signal?.aborted ? options.signal.reason : error;
  }
}

class CopyRun {
  readonly counts = {
    blobsCopied: 0,
    blobsSkipped: 0,
    blobsMounted: 0,
    bytesCopied: 0,
    layersTransformed: 0,
  };
  readonly #limit: ReturnType<typeof pLimit>;
  readonly #transformLimit: ReturnType<typeof pLimit>;
  readonly #blobs = new Map<string, Promise<void>>();
  /** Transform results by (transform, source digests): one per distinct input. */
  readonly #transforms = new Map<string, Promise<TransformedLayer>>();
  /** With `keepSources`: what each distinct transform made, from which sources. */
  readonly derivedLayers: Promise<DerivedLayer>[] = [];
  /** Aborted on the first failure, so the other transfers stop instead of running on. */
  readonly #failed = new AbortController();
  readonly #signal: AbortSignal;

  constructor(
    readonly src: ReadOnlyTarget,
    readonly dst: Target,
    readonly options: CopyOptions,
  ) {
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.#limit = pLimit(concurrency);
    this.#transformLimit = pLimit(
      Math.min(
        concurrency,
        options.transformConcurrency ?? Math.max(1, Math.floor(availableParallelism() / 2)),
      ),
    );
    this.#signal = options.signal
      ? AbortSignal.any([options.signal, this.#failed.signal])
      : this.#failed.signal;
  }

  /** Copies the root a reference names (one request where the source can), as `copyRoot`. */
  async copyReference(reference: string | undefined): Promise<Descriptor> {
    const { descriptor, manifest } = await fetchReferencedManifest(this.src, reference, this.#fetchOptions());
    return this.copyRoot(descriptor, manifest);
  }

  /**
   * Copies a root and everything below it (its manifest or index fetched unless `fetched` is
   * given); returns what the destination now holds for it.
   */
  async copyRoot(root: Descriptor, fetched?: ParsedManifest): Promise<Descriptor> {
    const parsed = fetched ?? (await fetchManifest(this.src, root, this.#fetchOptions()));
    if (parsed.kind === 'manifest') return this.copyImage(root, parsed);
    if (!this.options.all) {
      const chosen = await this.#choosePlatform(parsed.index);
      return this.copyImage(chosen.descriptor, chosen.parsed);
    }
    this.#refuseConversion(root, parsed);
    const children = await this.#all(parsed.index.manifests.map((child) => this.copyRoot(child)));
    const unchanged = children.every((child, i) => child.digest === parsed.index.manifests[i]!.digest);
    if (unchanged && !this.#mustConvert(parsed.mediaType)) {
      await this.pushManifest(root, parsed.bytes);
      return bareDescriptor(root);
    }
    // Around children edited or converted to OCI: a Docker list of OCI manifests becomes an OCI index.
    const index = rewriteIndex(parsed.bytes, children);
    await this.pushManifest(index.descriptor, index.bytes);
    return index.descriptor;
  }

  /**
   * The image of the platform asked for (this machine's by default): an entry of the index, or of
   * an index it holds — an entry that is an index itself, or a nested index without a platform
   * when no entry matches.
   */
  async #choosePlatform(
    index: ImageIndex,
  ): Promise<{ descriptor: Descriptor; parsed: Extract<ParsedManifest, { kind: 'manifest' }> }> {
    const wanted = this.options.platform ?? defaultPlatform();
    let chosen: Descriptor;
    try {
      chosen = selectPlatform(index, wanted, this.src.name);
    } catch (error) {
      for (const child of index.manifests) {
        if (child.platform || !isIndexMediaType(child.mediaType)) continue;
        const nested = await fetchManifest(this.src, child, this.#fetchOptions());
        if (nested.kind !== 'index') continue;
        const found = await this.#choosePlatform(nested.index).catch(() => undefined);
        if (found) return found;
      }
      throw error;
    }
    const parsed = await fetchManifest(this.src, chosen, this.#fetchOptions());
    return parsed.kind === 'index' ? this.#choosePlatform(parsed.index) : { descriptor: chosen, parsed };
  }

  /**
   * Copies one image: untouched (its blobs, then its manifest byte for byte), or as its edit
   * plans, each output layer passed through or transformed, then its config and manifest
   * rewritten around them.
   */
  async copyImage(desc: Descriptor, parsed: ParsedManifest): Promise<Descriptor> {
    if (parsed.kind !== 'manifest') return bareDescriptor(desc);
    this.#refuseConversion(desc, parsed);
    const edit = await this.#planFor(desc, parsed);
    const untouched = { descriptor: bareDescriptor(desc), bytes: parsed.bytes };
    if (!edit || this.options.keepSources) {
      const layers = parsed.manifest.layers.filter((layer) => !isForeign(layer) && this.#keeps(layer));
      const blobs = [parsed.manifest.config, ...layers];
      const derived = edit?.plan.layers.filter((layer) => 'transform' in layer) ?? [];
      await this.#all<unknown>([
        ...blobs.map((blob) => this.copyBlob(blob)),
        ...derived.map((layer) => this.#outputLayer(edit!.image, layer)),
      ]);
      return this.#pushImageManifest(untouched);
    }
    const { image, plan } = edit;
    if (plan.format === 'docker' && this.dst.requiresOciManifests) {
      throw new ImageError(
        'UNSUPPORTED',
        `${this.dst.name} holds only OCI manifests: the Docker v2s2 format asked for cannot be written there; write it to dir:, docker-archive: or a registry, or ask for OCI`,
        this.dst.name,
      );
    }
    const outputs = await this.#all(plan.layers.map((layer) => this.#outputLayer(image, layer)));
    if (givesBackSource(plan, image, outputs)) {
      await this.copyBlob(parsed.manifest.config);
      return this.#pushImageManifest({ descriptor: bareDescriptor(desc), bytes: parsed.bytes });
    }
    const rewritten = rewriteImage(image, plan, outputs, this.src.name);
    await this.pushManifest(rewritten.config.descriptor, rewritten.config.bytes);
    return this.#pushImageManifest(rewritten.manifest);
  }

  /**
   * Pushes an image manifest as the destination holds it: as it is, or converted to OCI (media
   * types only, so its digest changes) for a target that holds only OCI manifests.
   */
  async #pushImageManifest(manifest: EncodedContent): Promise<Descriptor> {
    const { descriptor, bytes } = this.#mustConvert(manifest.descriptor.mediaType)
      ? convertManifestToOci(manifest.bytes)
      : manifest;
    await this.pushManifest(descriptor, bytes);
    return descriptor;
  }

  #mustConvert(mediaType: string): boolean {
    return this.dst.requiresOciManifests === true && isDockerManifest(mediaType);
  }

  /** With `preserveDigests`, a Docker manifest the destination would have to convert is refused. */
  #refuseConversion(desc: Descriptor, parsed: ParsedManifest): void {
    if (!this.options.preserveDigests || !this.#mustConvert(parsed.mediaType)) return;
    throw new ImageError(
      'UNSUPPORTED',
      `${this.dst.name} holds only OCI manifests, and ${desc.digest} of ${this.src.name} is a Docker ${parsed.kind === 'index' ? 'manifest list' : 'v2s2 manifest'}: converting it changes its digest, which preserving digests forbids; copy without preserving digests (media types are converted, blobs stay as they are), or to dir: or a registry`,
      desc.digest,
    );
  }

  /** Small content (a manifest, an index, a rewritten config) the destination does not have yet. */
  async pushManifest(desc: Descriptor, bytes: Uint8Array): Promise<void> {
    if (await this.dst.exists(desc)) return;
    await this.dst.push(bareDescriptor(desc), bytesStream(bytes), this.#fetchOptions());
  }

  /** The edit of an image, or undefined when there is none or it changes nothing. */
  async #planFor(
    desc: Descriptor,
    parsed: Extract<ParsedManifest, { kind: 'manifest' }>,
  ): Promise<{ image: EditedImage; plan: ImagePlan } | undefined> {
    if (!this.options.edit) return undefined;
    const configBytes = await fetchBytes(this.src, parsed.manifest.config, this.#fetchOptions());
    const image: EditedImage = {
      descriptor: desc,
      mediaType: parsed.mediaType,
      manifest: parsed.manifest,
      config: parseImageConfig(configBytes, parsed.manifest.config.digest),
      configBytes,
      manifestBytes: parsed.bytes,
    };
    const plan = await this.options.edit(image);
    if (!plan || leavesUntouched(plan, image)) return undefined;
    checkPlan(plan, image, this.src.name);
    return { image, plan };
  }

  async #outputLayer(image: EditedImage, planned: PlannedLayer): Promise<OutputLayer> {
    const diffIds = image.config.rootfs.diff_ids;
    if ('source' in planned) {
      const descriptor = image.manifest.layers[planned.source]!;
      if (!isForeign(descriptor)) await this.copyBlob(descriptor);
      return { descriptor, diffId: diffIds[planned.source]! };
    }
    const keep = Boolean(this.options.keepSources);
    const sources = planned.sources.map((i) => {
      const descriptor = image.manifest.layers[i]!;
      return this.#sourceLayer(descriptor, diffIds[i], keep && this.#keeps(descriptor) ? this.dst : this.src);
    });
    const key = [planned.transform.id, ...sources.map((source) => source.descriptor.digest)].join('\n');
    let pending = this.#transforms.get(key);
    if (!pending) {
      const { transform } = planned;
      pending = keep
        ? // Copied first (outside the bound, which the transform then takes), read back from there.
          Promise.all(
            sources
              .filter((source) => this.#keeps(source.descriptor))
              .map((source) => this.copyBlob(source.descriptor)),
          ).then(() => this.#transformLimit(() => this.#transform(transform, sources)))
        : this.#transformLimit(() => this.#transform(transform, sources));
      this.#transforms.set(key, pending);
      if (keep) {
        const derived = pending.then(({ descriptor, diffId }) => ({
          transform: transform.id,
          sources: sources.map(({ descriptor, diffId }) => ({ descriptor, diffId })),
          descriptor,
          diffId,
        }));
        derived.catch(() => {}); // a failure is the copy's, reported through `pending`
        this.derivedLayers.push(derived);
      }
    }
    const { descriptor, diffId } = await pending;
    return { descriptor, diffId };
  }

  /** Whether `keepSources` keeps this source layer in the destination (with no `keepSources`, all are copied). */
  #keeps(layer: Descriptor): boolean {
    const { keepSources } = this.options;
    return typeof keepSources === 'function' ? keepSources(layer) : true;
  }

  async #transform(transform: LayerTransform, sources: SourceLayer[]): Promise<TransformedLayer> {
    this.#signal.throwIfAborted();
    const apply = () =>
      transform.apply(sources, {
        ingest: (mediaType, content, expected) =>
          ingestBlob(this.dst, mediaType, content, {
            ...this.#fetchOptions(),
            ...(expected && { expected }),
          }),
        ingestFile: (mediaType, write) => ingestWrittenFile(this.dst, mediaType, write, this.#fetchOptions()),
        signal: this.#signal,
      });
    // A transform keeps the main thread busy: the hashes of its large layers (sources verified,
    // outputs named) go to a helper thread, unless its heavy work runs on threads of its own.
    const result = await (transform.worksOffThread?.(sources) ? apply() : withHashThread(apply));
    this.counts.layersTransformed++;
    for (const { descriptor: desc } of sources)
      this.options.onProgress?.({ type: 'blob', desc, state: 'done' });
    return result;
  }

  /** A source layer for a transform: verified as it is read from `from`, its reading shown as progress. */
  #sourceLayer(descriptor: Descriptor, diffId: string | undefined, from: ReadOnlyTarget): SourceLayer {
    return {
      descriptor,
      diffId,
      open: async () => {
        const progress = this.options.onProgress;
        progress?.({ type: 'blob', desc: descriptor, state: 'start' });
        const content = await fetchVerified(from, descriptor, this.#fetchOptions());
        if (progress) content.onBytes = (bytes) => progress({ type: 'bytes', desc: descriptor, bytes });
        return content;
      },
    };
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
  async #all<T>(tasks: Promise<T>[]): Promise<T[]> {
    let first: { error: unknown } | undefined;
    const results = await Promise.all(
      tasks.map((task) =>
        task.catch((error: unknown) => {
          first ??= { error };
          this.#failed.abort(error);
        }),
      ),
    );
    if (first) throw first.error;
    return results as T[];
  }
}

/** An image being edited, with the exact bytes of its manifest and config. */
type EditedImage = ImageToEdit & { configBytes: Uint8Array; manifestBytes: Uint8Array };

/** The descriptor without index-only fields, as a destination records its root. */
function bareDescriptor(desc: Descriptor): Descriptor {
  return { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
}

/** Non-distributable layers with URLs are fetched from those URLs at run time, not copied. */
function isForeign(layer: Descriptor): boolean {
  return layerKindOf(layer.mediaType)?.nondistributable === true && (layer.urls?.length ?? 0) > 0;
}
