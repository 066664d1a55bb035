import {
  computeDigest,
  type Descriptor,
  encodeManifest,
  type ImageIndex,
  type ImageManifest,
  isIndexMediaType,
  type LayerCompression,
  layerKindOf,
  layerMediaType,
  type ManifestFlavour,
  MediaType,
} from '@concil/oci-spec';
import { flavourOf, type ImagePlan, type ImageToEdit, type PlannedLayer } from './copy-plan.js';
import { ImageError } from './errors.js';

/** An output layer once it is in the destination. */
export interface OutputLayer {
  descriptor: Descriptor;
  diffId: string;
}

export interface EncodedContent {
  bytes: Uint8Array;
  descriptor: Descriptor;
}

type Json = Record<string, unknown>;

/**
 * The config and manifest of an edited image: `rootfs.diff_ids` and `history` follow the output
 * layers, everything else is kept as the source wrote it; the manifest is re-encoded in the
 * plan's format, OCI when a layer needs it (Docker's v2s2 carries gzip layers only).
 */
export function rewriteImage(
  image: ImageToEdit & { configBytes: Uint8Array; manifestBytes: Uint8Array },
  plan: ImagePlan,
  outputs: readonly OutputLayer[],
  where: string,
): { config: EncodedContent; manifest: EncodedContent } {
  const flavour = outputFlavour(plan, outputs, flavourOf(image.mediaType), where);
  const source = JSON.parse(new TextDecoder().decode(image.configBytes)) as Json;
  const config = plan.config ? plan.config(source) : source;
  config.rootfs = { ...(config.rootfs as Json), diff_ids: outputs.map((layer) => layer.diffId) };
  if (Array.isArray(config.history)) {
    config.history = rewriteHistory(config.history as Json[], plan.layers, image.manifest.layers.length);
  }
  const configBytes = new TextEncoder().encode(JSON.stringify(config));
  const configMediaType =
    flavour === flavourOf(image.mediaType)
      ? image.manifest.config.mediaType
      : flavour === 'oci'
        ? MediaType.ociConfig
        : MediaType.dockerConfig;
  const configDescriptor = {
    mediaType: configMediaType,
    digest: computeDigest(configBytes),
    size: configBytes.byteLength,
  };

  const mediaType = flavour === 'oci' ? MediaType.ociManifest : MediaType.dockerManifest;
  const manifest = JSON.parse(new TextDecoder().decode(image.manifestBytes)) as ImageManifest;
  manifest.mediaType = mediaType;
  manifest.config = { ...manifest.config, ...configDescriptor };
  manifest.layers = outputs.map((layer) => inFlavour(layer.descriptor, flavour));
  if (plan.annotations) {
    if (flavour === 'docker') {
      // Only when asked for: without a format, an annotated image is written as OCI.
      throw new ImageError(
        'UNSUPPORTED',
        `${where}: a Docker v2s2 manifest has no annotations; write the image as OCI (--format oci) to annotate it`,
        where,
      );
    }
    manifest.annotations = { ...manifest.annotations, ...plan.annotations };
  }
  // Docker's v2s2 has no annotations (skopeo drops them too when it writes v2s2).
  if (flavour === 'docker') delete manifest.annotations;
  return {
    config: { bytes: configBytes, descriptor: configDescriptor },
    manifest: encodeManifest(manifest, mediaType),
  };
}

/**
 * An index around children that changed: each entry takes its child's new media type, digest
 * and size and keeps its platform and annotations. A Docker manifest list holding an OCI
 * manifest becomes an OCI index.
 */
export function rewriteIndex(indexBytes: Uint8Array, children: readonly Descriptor[]): EncodedContent {
  const index = JSON.parse(new TextDecoder().decode(indexBytes)) as ImageIndex;
  index.manifests = index.manifests.map((entry, i) => ({ ...entry, ...bare(children[i]!) }));
  const docker =
    index.mediaType === MediaType.dockerManifestList &&
    children.every(
      (child) => child.mediaType === MediaType.dockerManifest || isIndexMediaType(child.mediaType),
    );
  const mediaType = docker ? MediaType.dockerManifestList : MediaType.ociIndex;
  index.mediaType = mediaType;
  return encodeManifest(index, mediaType);
}

function bare(desc: Descriptor): Descriptor {
  return { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
}

const kindNames: Record<LayerCompression, string> = {
  none: 'uncompressed tar',
  gzip: 'tar+gzip',
  zstd: 'tar+zstd',
  squashfs: 'squashfs',
};

/** Docker's v2s2 knows plain gzip layers only; any other known kind needs an OCI manifest. */
function needsOci(desc: Descriptor): boolean {
  const kind = layerKindOf(desc.mediaType);
  return kind !== undefined && (kind.compression !== 'gzip' || kind.encrypted);
}

function outputFlavour(
  plan: ImagePlan,
  outputs: readonly OutputLayer[],
  source: ManifestFlavour,
  where: string,
): ManifestFlavour {
  const position = outputs.findIndex((layer) => needsOci(layer.descriptor));
  if (position < 0) return plan.format ?? (plan.annotations ? 'oci' : source);
  if (plan.format === 'docker') {
    const { mediaType } = outputs[position]!.descriptor;
    const kind = layerKindOf(mediaType)!;
    throw new ImageError(
      'UNSUPPORTED',
      `${where}: a Docker v2s2 manifest cannot carry ${kind.encrypted ? 'encrypted ' : ''}${kindNames[kind.compression]} layers (layer ${position + 1} is ${mediaType}); write the image as OCI`,
      where,
    );
  }
  return 'oci';
}

/** The layer's media type in the manifest format written; unknown types are kept as they are. */
export function inFlavour(desc: Descriptor, flavour: ManifestFlavour): Descriptor {
  const kind = layerKindOf(desc.mediaType);
  return kind ? { ...desc, mediaType: layerMediaType(kind, flavour) } : desc;
}

/**
 * The history of the output layers. Entries without a layer (`empty_layer`: ENV, CMD…) stay
 * where they were; a layer passed through or transformed alone keeps its entry; a removed layer
 * loses its entry; a merged layer gets one entry where its last source's was; a new layer gets
 * one where it is added. A history whose layer entries do not match the layers is kept as it was.
 */
function rewriteHistory(history: Json[], planned: readonly PlannedLayer[], sourceLayers: number): Json[] {
  if (history.filter((entry) => entry.empty_layer !== true).length !== sourceLayers) return history;
  const out: Json[] = [];
  let next = 0;
  let layer = 0;
  for (const plannedLayer of planned) {
    const sources = 'source' in plannedLayer ? [plannedLayer.source] : plannedLayer.sources;
    const own = 'source' in plannedLayer ? undefined : plannedLayer.history;
    if (sources.length === 0) {
      out.push(own ?? { created_by: `concil: ${transformId(plannedLayer)}` });
      continue;
    }
    const lastSource = sources.at(-1)!;
    for (; layer <= lastSource; next++) {
      const entry = history[next]!;
      if (entry.empty_layer === true) {
        out.push(entry);
        continue;
      }
      if (layer === lastSource) {
        out.push(
          own ??
            (sources.length === 1
              ? entry
              : {
                  created_by: `concil: ${transformId(plannedLayer)}`,
                  comment: `layers ${sources.map((s) => s + 1).join(', ')} merged`,
                }),
        );
      }
      layer++;
    }
  }
  // What follows the last kept layer: entries without a layer stay, those of removed layers go.
  return [...out, ...history.slice(next).filter((entry) => entry.empty_layer === true)];
}

function transformId(planned: PlannedLayer): string {
  return 'transform' in planned ? planned.transform.id : 'copy';
}
