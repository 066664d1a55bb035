import { type Descriptor, type LayerCompression, layerKindOf } from '@concil/oci-spec';
import type { ImageEditor } from './copy-plan.js';
import { ImageError } from './errors.js';
import { encodeLayer, encodingSettings, type LayerEncoding } from './layer-encode.js';
import { TITLE_ANNOTATION } from './layer-names.js';
import { openLayerTar } from './layer-tar.js';
import type { LayerTransform } from './layer-transform.js';

/**
 * A layer converted to another format (tar, tar+gzip, tar+zstd, squashfs): read as a tar,
 * encoded again. Only the layer's title annotation is kept: others may describe the old encoding.
 */
export function convertLayer(to: LayerCompression, encoding: LayerEncoding = {}): LayerTransform {
  return {
    id: `convert:${to}:${encodingSettings(to, encoding)}`,
    async apply(sources, context) {
      const [source] = sources;
      if (!source || sources.length !== 1) {
        throw new ImageError('PLAN_INVALID', `a conversion takes one layer, not ${sources.length}`);
      }
      const tar = await openLayerTar(source, context.signal);
      const layer = await encodeLayer(tar, to, context, encoding);
      const title = source.descriptor.annotations?.[TITLE_ANNOTATION];
      return title === undefined
        ? layer
        : { ...layer, descriptor: { ...layer.descriptor, annotations: { [TITLE_ANNOTATION]: title } } };
    },
  };
}

/**
 * An editor that converts every layer to `to`; layers already in that format pass through
 * untouched, and so do encrypted, non-distributable and unknown ones, which cannot be read.
 */
export function convertLayers(to: LayerCompression, encoding: LayerEncoding = {}): ImageEditor {
  const transform = convertLayer(to, encoding);
  return ({ manifest }) => ({
    layers: manifest.layers.map((layer, i) =>
      converts(layer, to) ? { transform, sources: [i] } : { source: i },
    ),
  });
}

/** Whether a layer is one `convertLayers(to)` converts. */
export function converts(layer: Descriptor, to: LayerCompression): boolean {
  const kind = layerKindOf(layer.mediaType);
  return kind !== undefined && !kind.encrypted && !kind.nondistributable && kind.compression !== to;
}
