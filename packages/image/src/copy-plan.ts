import {
  type Descriptor,
  type HistoryEntry,
  type ImageConfig,
  type ImageManifest,
  type ManifestFlavour,
  MediaType,
} from '@concil/oci-spec';
import { ImageError } from './errors.js';
import type { LayerTransform } from './layer-transform.js';

/** One image as the copy walks it: what an editor decides its plan from. */
export interface ImageToEdit {
  /** The image manifest's descriptor (with its platform when it comes from an index). */
  descriptor: Descriptor;
  mediaType: string;
  manifest: ImageManifest;
  config: ImageConfig;
}

/**
 * One output layer: a source layer passed through untouched (by its 0-based position in the
 * source manifest), or the output of a transform of zero, one or several source layers.
 */
export type PlannedLayer =
  | { source: number }
  | {
      transform: LayerTransform;
      sources: readonly number[];
      /** The history entry of the new layer; by default the source's for one source, a note of the transform otherwise. */
      history?: HistoryEntry;
    };

/** What becomes of one image: its output layers, base first, and the manifest format to write. */
export interface ImagePlan {
  layers: readonly PlannedLayer[];
  /** `docker` (v2s2) or `oci`; by default the source's, switched to OCI when a layer needs it. */
  format?: ManifestFlavour;
  /**
   * Edits the image config (the parsed JSON, every field as the source wrote it) before its
   * `rootfs.diff_ids` and `history` are set to match the output layers.
   */
  config?: (config: Record<string, unknown>) => Record<string, unknown>;
  /** Annotations set on the image manifest (OCI only). */
  annotations?: Readonly<Record<string, string>>;
}

/**
 * Decides for each image the copy walks (each platform's, with `all`) what becomes of it;
 * undefined copies it untouched.
 */
export type ImageEditor = (image: ImageToEdit) => ImagePlan | undefined | Promise<ImagePlan | undefined>;

export function flavourOf(manifestMediaType: string): ManifestFlavour {
  return manifestMediaType === MediaType.dockerManifest ? 'docker' : 'oci';
}

/** True when the plan writes the image exactly as it is: its manifest is then copied byte for byte. */
export function leavesUntouched(plan: ImagePlan, image: ImageToEdit): boolean {
  return (
    keepsManifest(plan, image) && plan.layers.every((layer, i) => 'source' in layer && layer.source === i)
  );
}

/**
 * True when each output layer came back as the very source layer it was made from (a filter that
 * only reads, as a search does) and nothing else changes: the manifest is then copied byte for
 * byte, as if the plan had left the image untouched.
 */
export function givesBackSource(
  plan: ImagePlan,
  image: ImageToEdit,
  outputs: readonly { descriptor: Descriptor; diffId: string }[],
): boolean {
  const { layers } = image.manifest;
  return (
    keepsManifest(plan, image) &&
    plan.layers.every((layer, i) => {
      const sources = 'source' in layer ? [layer.source] : layer.sources;
      return sources.length === 1 && sources[0] === i;
    }) &&
    outputs.every(
      ({ descriptor, diffId }, i) =>
        descriptor.digest === layers[i]!.digest &&
        descriptor.mediaType === layers[i]!.mediaType &&
        sameAnnotations(descriptor.annotations, layers[i]!.annotations) &&
        diffId === image.config.rootfs.diff_ids[i],
    )
  );
}

/** A layer that keeps its bytes may still change its annotations (a recipient added to its key). */
function sameAnnotations(
  a: Readonly<Record<string, string>> = {},
  b: Readonly<Record<string, string>> = {},
): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

/** The plan keeps the manifest's format, annotations and config, and as many layers. */
function keepsManifest(plan: ImagePlan, image: ImageToEdit): boolean {
  return (
    plan.config === undefined &&
    plan.annotations === undefined &&
    (plan.format === undefined || plan.format === flavourOf(image.mediaType)) &&
    plan.layers.length === image.manifest.layers.length
  );
}

/**
 * Refuses an image whose config does not list a diff_id per layer (its edit could not say what
 * each layer is), and a plan that does not fit its image: every source layer exists, is used once
 * at most, and sources come in the order of the image (output layers stack as their sources did).
 */
export function checkPlan(plan: ImagePlan, image: ImageToEdit, where: string): void {
  const diffIds = image.config.rootfs.diff_ids.length;
  const layers = image.manifest.layers.length;
  if (diffIds !== layers) {
    throw new ImageError(
      'DIFF_ID_MISMATCH',
      `${where} (${image.descriptor.digest}): the config lists ${diffIds} diff_ids for ${layers} layers; the image is inconsistent and cannot be edited`,
      image.descriptor.digest,
    );
  }
  let last = -1;
  for (const [position, layer] of plan.layers.entries()) {
    for (const source of 'source' in layer ? [layer.source] : layer.sources) {
      const problem =
        !Number.isInteger(source) || source < 0 || source >= image.manifest.layers.length
          ? `names source layer ${source}, but the image has ${image.manifest.layers.length} layers`
          : source <= last
            ? `uses source layer ${source} after layer ${last}: each source layer is used once, in the order of the image`
            : undefined;
      if (problem) {
        throw new ImageError(
          'PLAN_INVALID',
          `${where} (${image.descriptor.digest}): output layer ${position + 1} ${problem}`,
          image.descriptor.digest,
        );
      }
      last = source;
    }
  }
}
