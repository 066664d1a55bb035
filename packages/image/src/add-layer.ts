import { createReadStream } from 'node:fs';
import { addAbortSignal } from 'node:stream';
import { type LayerCompression, layerMediaType } from '@concil/oci-spec';
import { encodeLayer, encodingSettings, type LayerEncoding } from './layer-encode.js';
import { TITLE_ANNOTATION } from './layer-names.js';
import { type LayerSourceKind, layerSourceTar } from './layer-source.js';
import type { LayerTransform, TransformedLayer } from './layer-transform.js';

/**
 * A transform of no source layer: a new layer made from a directory, a tarball or a squashfs
 * file (`kind`, from `layerSourceKind`), encoded as `to` and annotated with its title. A squashfs
 * file asked for as squashfs is stored as it is.
 */
export function addLayer(
  title: string,
  path: string,
  kind: LayerSourceKind,
  to: LayerCompression = 'gzip',
  encoding: LayerEncoding = {},
): LayerTransform {
  return {
    id: `add:${kind}:${path}:${to}:${encodingSettings(to, encoding)}`,
    async apply(_sources, context) {
      let layer: TransformedLayer;
      if (kind === 'squashfs' && to === 'squashfs') {
        const mediaType = layerMediaType({ compression: to, encrypted: false, nondistributable: false });
        const descriptor = await context.ingest(
          mediaType,
          createReadStream(path, { highWaterMark: 1 << 20 }),
        );
        layer = { descriptor, diffId: descriptor.digest };
      } else {
        const tar = addAbortSignal(context.signal, layerSourceTar(path, kind));
        layer = await encodeLayer(tar, to, context, encoding);
      }
      return { ...layer, descriptor: { ...layer.descriptor, annotations: { [TITLE_ANNOTATION]: title } } };
    },
  };
}
