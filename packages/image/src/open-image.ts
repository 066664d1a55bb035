import type { Readable } from 'node:stream';
import {
  type Descriptor,
  type Digest,
  type FetchOptions,
  fetchVerified,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type ReadOnlyTarget,
  type VerifyingStream,
} from '@concil/oci-spec';
import { TITLE_ANNOTATION } from './layer-names.js';
import { openLayerTar } from './layer-tar.js';
import type { SourceLayer } from './layer-transform.js';
import { type OpenTargetOptions, openTarget } from './open-target.js';
import { type ReadImageOptions, readImage } from './read-image.js';

/** One image, read from any target: its manifest, its config, and its layers, base first. */
export interface Image {
  /** Where its blobs live: the target it was read from. */
  readonly target: ReadOnlyTarget;
  /** The image manifest's descriptor (the chosen platform's, when the root is an index). */
  readonly descriptor: Descriptor;
  readonly manifest: ImageManifest;
  readonly config: ImageConfig;
  /** The manifest's annotations (none: empty). */
  readonly annotations: Readonly<Record<string, string>>;
  /** The index the image was chosen from, if any. */
  readonly index?: { descriptor: Descriptor; index: ImageIndex };
  readonly layers: readonly Layer[];
}

/**
 * One layer of an image. It is a `SourceLayer`, so a layer transform or `openLayerTar` takes it
 * as it is.
 */
export interface Layer extends SourceLayer {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  /** Its annotations in the manifest (none: empty). */
  readonly annotations: Readonly<Record<string, string>>;
  /** Its `org.opencontainers.image.title` annotation, as concil names layers. */
  readonly title: string | undefined;
  /** What the config's `rootfs.diff_ids` holds for it (undefined where the config lists fewer). */
  readonly diffId: Digest | undefined;
  /** Where its bytes come from: the image's target. */
  readonly target: ReadOnlyTarget;
  /** Its blob as stored, verified against its digest as it is read; each call opens a new stream. */
  open(options?: FetchOptions): Promise<VerifyingStream>;
  /**
   * Its content as an uncompressed tar, whatever its kind (tar, tar+gzip, tar+zstd, squashfs),
   * checked against its diff_id at the end (see `openLayerTar`); encrypted layers are refused.
   */
  tarStream(options?: { signal?: AbortSignal }): Promise<Readable>;
}

export interface OpenImageOptions extends ReadImageOptions, OpenTargetOptions {}

/**
 * Reads one image from a spec (`docker://…`, `dir:PATH`, `oci:PATH[:tag]`, `oci-archive:FILE[:tag]`,
 * `docker-archive:FILE[:name:tag]`, a bare path; see `openTarget`) or from a target already open,
 * choosing a platform from an index. Only the manifest and config are read; layers are read when
 * asked.
 */
export async function openImage(
  from: string | ReadOnlyTarget,
  options: OpenImageOptions = {},
): Promise<Image> {
  const target = typeof from === 'string' ? openTarget(from, options) : from;
  const { descriptor, manifest, config, index } = await readImage(target, options);
  const diffIds = config.rootfs.diff_ids;
  return {
    target,
    descriptor,
    manifest,
    config,
    annotations: manifest.annotations ?? {},
    ...(index && { index }),
    layers: manifest.layers.map((layer, i) => imageLayer(target, layer, diffIds[i] as Digest | undefined)),
  };
}

function imageLayer(target: ReadOnlyTarget, descriptor: Descriptor, diffId: Digest | undefined): Layer {
  const layer: Layer = {
    descriptor,
    mediaType: descriptor.mediaType,
    digest: descriptor.digest as Digest,
    size: descriptor.size,
    annotations: descriptor.annotations ?? {},
    title: descriptor.annotations?.[TITLE_ANNOTATION],
    diffId,
    target,
    open: (options) => fetchVerified(target, descriptor, options),
    tarStream: (options = {}) => openLayerTar(layer, options.signal),
  };
  return layer;
}
