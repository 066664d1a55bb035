import type { LayerCompression, ManifestFlavour } from '@concil/oci-spec';
import { addLayer } from './add-layer.js';
import { type ConfigEdits, editConfig, hasConfigEdits, isGiven } from './config-edit.js';
import { convertLayer, converts } from './convert-layers.js';
import type { ImageEditor, ImageToEdit, PlannedLayer } from './copy-plan.js';
import { ImageError } from './errors.js';
import type { LayerEncoding } from './layer-encode.js';
import { resolveLayerNames } from './layer-names.js';
import { layerSourceKind, layerSourceTar } from './layer-source.js';
import { mergeLayers } from './merge-layers.js';
import { checkTarPaths, TarPathCheck } from './tar-safety.js';

/** The edits of `concil copy`, as one value. Layer names are those of `resolveLayerNames`. */
export interface ImageEdits {
  /** New layers on top, in this order: a directory, a tarball or a squashfs file each, with its title. */
  addLayers?: readonly { title: string; path: string }[];
  /** Layers (or ranges of layers) left out. */
  removeLayers?: readonly string[];
  /** Ranges of layers each merged into one layer. */
  mergeLayers?: readonly string[];
  /**
   * The format of every layer (others are converted), and of the layers made by merging or
   * adding; without it those are tar+gzip and the others are kept as they are.
   */
  convert?: LayerCompression;
  encoding?: LayerEncoding;
  config?: ConfigEdits;
  /** Annotations set on the manifest. */
  annotations?: Readonly<Record<string, string>>;
  /** The manifest format written: `oci` or `docker` (v2s2). */
  format?: ManifestFlavour;
}

/** Whether any edit is asked for (empty lists and objects ask for nothing). */
export function hasEdits(edits: ImageEdits): boolean {
  const { config, ...rest } = edits;
  return (config !== undefined && hasConfigEdits(config)) || Object.values(rest).some(isGiven);
}

/**
 * One editor for all the edits, for `copy(src, dst, { edit })`: removes and merges source
 * layers, converts the others when asked, adds the new layers on top, edits the config and the
 * manifest's annotations. The paths of new layers, and the paths inside tarballs, are checked here, before anything is copied.
 */
export async function editImage(edits: ImageEdits): Promise<ImageEditor> {
  if (edits.format === 'docker' && isGiven(edits.annotations)) {
    throw new ImageError(
      'UNSUPPORTED',
      'a Docker v2s2 manifest has no annotations: write the image as OCI (--format oci) to annotate it',
    );
  }
  const made: LayerCompression = edits.convert ?? 'gzip';
  const added: PlannedLayer[] = [];
  for (const { title, path } of edits.addLayers ?? []) {
    const kind = await layerSourceKind(path);
    if (kind !== 'directory') {
      // A tarball (or squashfs file) is read through once first: a path in it that would leave
      // the tree is refused before anything is copied.
      const where = `--add-layer ${title}=${path}`;
      await checkTarPaths(layerSourceTar(path, kind), new TarPathCheck(where, path));
    }
    added.push({
      transform: addLayer(title, path, kind, made, edits.encoding),
      sources: [],
      history: { created_by: `concil copy --add-layer ${title}=${path}` },
    });
  }
  const convert = edits.convert && convertLayer(edits.convert, edits.encoding);
  const config = edits.config && hasConfigEdits(edits.config) ? editConfig(edits.config) : undefined;
  return (image) => {
    const { removed, merges } = layerEdits(image, edits);
    const layers: PlannedLayer[] = [];
    for (let i = 0; i < image.manifest.layers.length; i++) {
      if (removed.has(i)) continue;
      const merge = merges.get(i);
      if (merge) {
        const fromBase = layers.length === 0;
        layers.push({ transform: mergeLayers(fromBase, made, edits.encoding), sources: merge });
        i = merge.at(-1)!;
      } else if (convert && converts(image.manifest.layers[i]!, edits.convert!)) {
        layers.push({ transform: convert, sources: [i] });
      } else {
        layers.push({ source: i });
      }
    }
    layers.push(...added);
    return {
      layers,
      ...(edits.format && { format: edits.format }),
      ...(config && { config }),
      ...(isGiven(edits.annotations) && { annotations: edits.annotations }),
    };
  };
}

/** The layers removed and the merges (by first layer) of one image; overlapping edits are refused. */
function layerEdits(
  image: ImageToEdit,
  edits: ImageEdits,
): { removed: Set<number>; merges: Map<number, number[]> } {
  const layers = image.manifest.layers;
  const removed = new Set((edits.removeLayers ?? []).flatMap((name) => resolveLayerNames(layers, name)));
  const merges = new Map<number, number[]>();
  const merged = new Set<number>();
  for (const range of edits.mergeLayers ?? []) {
    const positions = resolveLayerNames(layers, range);
    const clash = positions.find((i) => removed.has(i) || merged.has(i));
    if (clash !== undefined) {
      throw new ImageError(
        'PLAN_INVALID',
        `${image.descriptor.digest}: layer %${clash + 1} is ${removed.has(clash) ? 'removed' : 'merged'} already and cannot be merged in ${range}`,
        range,
      );
    }
    for (const i of positions) merged.add(i);
    if (positions.length > 1) merges.set(positions[0]!, positions);
  }
  return { removed, merges };
}
