import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  type Descriptor,
  type Digest,
  DigestingStream,
  ensureVerified,
  type FetchOptions,
  type ImageConfig,
  type ImageManifest,
  layerKindOf,
  parseImageConfig,
  parseManifest,
  type Target,
} from '@concil/oci-spec';
import { PipelineError } from './errors.js';
import { openLayerInput } from './layer-input.js';
import { Staging } from './staging.js';
import { type UnpackedLayer, unpackLayer, type WhiteoutMode } from './unpack-layer.js';

/** A layer unpacked into the staging directory. */
export interface StagedLayer extends UnpackedLayer {
  digest: Digest;
  /** Its tree, relative to the staging directory. */
  path: string;
  /** The tar's digest and size. */
  diffId: Digest;
  tarSize: number;
}

/** The image a copy wrote: its manifest and config, and each layer's unpacked tree. */
export interface ImageToWrite {
  reference: string | undefined;
  manifestDescriptor: Descriptor;
  manifestBytes: Uint8Array;
  manifest: ImageManifest;
  configBytes: Uint8Array;
  config: ImageConfig;
}

/** Manifests and configs are small; a "manifest" larger than this is not one. */
const MAX_SMALL_CONTENT = 16 << 20;

/**
 * A target that unpacks the layers pushed to it as they stream in, each into its own directory in
 * a staging directory (several at once, as the copy pushes them), and makes its result at commit
 * from the image it was tagged with: the unpacking sinks `extracted:`, `bundle:` and `mounts:`.
 * A failed or hostile layer fails the copy, and abort removes everything staged.
 */
export abstract class UnpackingTarget implements Target {
  abstract readonly name: string;
  protected readonly staging: Staging;
  readonly #small = new Map<string, Uint8Array>();
  protected readonly layers = new Map<string, Promise<StagedLayer>>();
  #root: { desc: Descriptor; reference: string | undefined } | undefined;

  constructor(readonly path: string) {
    this.staging = new Staging(path, path);
  }

  /** How the layers' whiteouts are written. */
  protected abstract readonly whiteouts: WhiteoutMode;
  /** Whether each layer's tar headers are kept, to write the tar again (`extracted:`). */
  protected readonly keepHeaders: boolean = false;
  /** Makes the result from the staged layers and moves it under the destination's name. */
  protected abstract finish(image: ImageToWrite): Promise<void>;

  async resolve(_reference?: string): Promise<Descriptor> {
    throw new PipelineError('UNSUPPORTED', `${this.name} can only be written to, not read`, this.path);
  }

  async fetch(_desc: Descriptor): Promise<Readable> {
    throw new PipelineError('UNSUPPORTED', `${this.name} can only be written to, not read`, this.path);
  }

  async exists(desc: Descriptor): Promise<boolean> {
    return this.#small.has(desc.digest) || this.layers.has(desc.digest);
  }

  async push(desc: Descriptor, content: Readable, options: FetchOptions = {}): Promise<void> {
    if (!layerKindOf(desc.mediaType)) {
      this.#small.set(desc.digest, await readSmall(ensureVerified(content, desc), desc.digest));
      return;
    }
    if (this.layers.has(desc.digest)) {
      content.resume();
      await this.layers.get(desc.digest);
      return;
    }
    const staged = this.#unpack(desc, content, options.signal);
    this.layers.set(desc.digest, staged);
    await staged;
  }

  /** A layer made by a transform: unpacked while its blob is hashed, named by that digest at its end. */
  async ingest(mediaType: string, content: Readable, options: FetchOptions = {}): Promise<Descriptor> {
    if (!layerKindOf(mediaType)) {
      const bytes = await readSmall(content, mediaType);
      const desc = {
        mediaType,
        digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest,
        size: bytes.length,
      };
      this.#small.set(desc.digest, bytes);
      return desc;
    }
    const hashing = new DigestingStream();
    content.on('error', (error) => hashing.destroy(error));
    content.pipe(hashing);
    const temporary = `ingest-${randomBytes(6).toString('hex')}`;
    const layer = await this.#unpackAs(
      temporary,
      { mediaType, digest: 'sha256:ingest', size: 0 },
      hashing,
      options.signal,
      false,
    );
    const desc: Descriptor = { mediaType, digest: hashing.digest, size: hashing.size };
    if (this.layers.has(desc.digest)) {
      const staged = join(await this.staging.path(), layer.path);
      await rm(staged, { recursive: true, force: true });
      await rm(`${staged}.headers`, { force: true });
      return desc;
    }
    const named = await this.#rename(layer, desc.digest);
    this.layers.set(desc.digest, Promise.resolve(named));
    return desc;
  }

  async tag(desc: Descriptor, reference?: string): Promise<void> {
    this.#root = { desc, reference };
  }

  async commit(): Promise<void> {
    const root = this.#root;
    if (!root) throw new PipelineError('NOT_FOUND', `${this.name}: nothing was tagged to write`, this.path);
    try {
      await this.finish(this.#image(root.desc, root.reference));
    } catch (error) {
      await this.abort();
      throw error;
    }
    this.#root = undefined;
  }

  async abort(): Promise<void> {
    await Promise.allSettled(this.layers.values());
    this.layers.clear();
    this.#small.clear();
    await this.staging.remove();
  }

  /** Unpacks a layer's tar at `root` (a path that does not exist yet). */
  protected async unpackTo(
    tar: AsyncIterable<Uint8Array>,
    root: string,
    layer: string,
    headersFd: number | undefined,
  ): Promise<UnpackedLayer> {
    await mkdir(root, { mode: 0o755 });
    return unpackLayer(tar, root, {
      layer,
      whiteouts: this.whiteouts,
      ...(headersFd !== undefined && { headersFd }),
    });
  }

  /** Where a layer's tree is staged, relative to the staging directory (a content-addressed path). */
  protected layerPath(digest: string): string {
    const [algorithm, hex] = digest.split(':');
    return `layers/${algorithm}/${hex}`;
  }

  /** The staged layers of the image, in its order, each checked against the config's diff_id. */
  protected async stagedLayers(image: ImageToWrite): Promise<StagedLayer[]> {
    const layers: StagedLayer[] = [];
    for (const [i, desc] of image.manifest.layers.entries()) {
      const staged = this.layers.get(desc.digest);
      if (!staged) {
        throw new PipelineError(
          'NOT_FOUND',
          `${this.name}: layer ${desc.digest} was never written`,
          desc.digest,
        );
      }
      const layer = await staged;
      checkDiffId(desc, layer.diffId, image.config.rootfs.diff_ids[i]);
      layers.push(layer);
    }
    return layers;
  }

  #image(desc: Descriptor, reference: string | undefined): ImageToWrite {
    const manifestBytes = this.#small.get(desc.digest);
    if (!manifestBytes)
      throw new PipelineError(
        'NOT_FOUND',
        `${this.name}: the manifest ${desc.digest} was never written`,
        desc.digest,
      );
    const parsed = parseManifest(manifestBytes, desc.mediaType, desc.digest);
    if (parsed.kind !== 'manifest') {
      throw new PipelineError(
        'UNSUPPORTED',
        `${this.name} holds one image, and ${desc.digest} is an index; copy one platform's image (without --all)`,
        desc.digest,
      );
    }
    const configBytes = this.#small.get(parsed.manifest.config.digest);
    if (!configBytes)
      throw new PipelineError(
        'NOT_FOUND',
        `${this.name}: the config ${parsed.manifest.config.digest} was never written`,
        desc.digest,
      );
    return {
      reference,
      manifestDescriptor: desc,
      manifestBytes,
      manifest: parsed.manifest,
      configBytes,
      config: parseImageConfig(configBytes, parsed.manifest.config.digest),
    };
  }

  #unpack(desc: Descriptor, content: Readable, signal: AbortSignal | undefined): Promise<StagedLayer> {
    return this.#unpackAs(this.layerPath(desc.digest), desc, content, signal, true);
  }

  async #unpackAs(
    path: string,
    desc: Descriptor,
    content: Readable,
    signal: AbortSignal | undefined,
    verify: boolean,
  ): Promise<StagedLayer> {
    const staging = await this.staging.path();
    const root = join(staging, path);
    await mkdir(dirname(root), { recursive: true });
    const headersFd = this.keepHeaders ? openSync(`${root}.headers`, 'w', 0o644) : undefined;
    const input = await openLayerInput(desc, content, signal, verify);
    try {
      const layer = desc.digest === 'sha256:ingest' ? `of ${desc.mediaType}` : desc.digest;
      const unpacked = await this.unpackTo(input.tar, root, layer, headersFd);
      const { diffId, size } = await input.finish();
      return { ...unpacked, digest: desc.digest as Digest, path, diffId, tarSize: size };
    } catch (error) {
      input.destroy();
      await rm(root, { recursive: true, force: true });
      await rm(`${root}.headers`, { force: true });
      throw error;
    } finally {
      if (headersFd !== undefined) closeSync(headersFd);
    }
  }

  async #rename(layer: StagedLayer, digest: Digest): Promise<StagedLayer> {
    const staging = await this.staging.path();
    const path = this.layerPath(digest);
    await mkdir(dirname(join(staging, path)), { recursive: true });
    await rename(join(staging, layer.path), join(staging, path));
    if (this.keepHeaders)
      await rename(join(staging, `${layer.path}.headers`), join(staging, `${path}.headers`));
    return { ...layer, digest, path };
  }
}

/**
 * The layers that make a difference, bottom first: of a layer that appears several times only
 * the topmost occurrence, which re-adds all it holds and re-applies its whiteouts above what
 * came between, so the stack shows the same tree without it (and nothing is unpacked twice).
 */
export function topmostOccurrences<T extends { digest: string }>(layers: readonly T[]): T[] {
  return layers.filter((layer, i) => !layers.slice(i + 1).some((above) => above.digest === layer.digest));
}

/**
 * The tar a layer unpacked from must be the one the config names; a squashfs layer's diff_id is
 * its blob's digest (concil's convention), which the blob was checked against as it was read.
 */
export function checkDiffId(layer: Descriptor, tarDigest: string, expected: string | undefined): void {
  const actual = isSquashfs(layer) ? layer.digest : tarDigest;
  if (actual === expected) return;
  throw new PipelineError(
    'DIFF_ID_MISMATCH',
    `layer ${layer.digest} unpacks from a tar with digest ${actual}, but the image config says ${expected ?? 'nothing'}: the image is inconsistent; nothing was written`,
    layer.digest,
  );
}

export function isSquashfs(layer: Descriptor): boolean {
  return layerKindOf(layer.mediaType)?.compression === 'squashfs';
}

async function readSmall(content: Readable, what: string): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of content) {
    size += (chunk as Buffer).length;
    if (size > MAX_SMALL_CONTENT) {
      content.destroy();
      throw new PipelineError(
        'UNSUPPORTED',
        `${what} is larger than a manifest or config can be (${MAX_SMALL_CONTENT} bytes)`,
        what,
      );
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
