import type { ImageEditor, LayerEncoding, PlannedLayer } from '@concil/image';
import { formatPlatform, layerKindOf } from '@concil/oci-spec';
import type { EntryFilter } from './entry-filter.js';
import { filterTransform } from './filter-transform.js';

/** An image the filters went through: its manifest's digest, platform and layers (their digests). */
export interface FilteredImage {
  manifest: string;
  platform?: string;
  layers: string[];
}

/**
 * The filters of one copy: `edit` is the editor to give `copy(src, dst, { edit })`, which puts
 * every layer of every image through the filters; `images` lists the images it went through,
 * so that what the filters found (`SearchFilter.matches`, `InspectFilter.layers`) can be told
 * image by image, although a layer several images share is read once.
 */
export class FilterRun {
  readonly images: FilteredImage[] = [];
  readonly edit: ImageEditor;

  constructor(
    readonly filters: readonly EntryFilter[],
    encoding: LayerEncoding = {},
  ) {
    const transform = filterTransform(filters, encoding);
    const rewrites = filters.some((filter) => filter.rewrites);
    const configEdits = filters.flatMap((filter) => (filter.editConfig ? [filter.editConfig] : []));
    this.edit = ({ descriptor, manifest }) => {
      this.images.push({
        manifest: descriptor.digest,
        ...(descriptor.platform && { platform: formatPlatform(descriptor.platform) }),
        layers: manifest.layers.map((layer) => layer.digest),
      });
      const layers: PlannedLayer[] = manifest.layers.map((layer, i) =>
        // Filters that only read pass what is no tar (encrypted, foreign) on; rewriting it is refused.
        rewrites || readable(layer.mediaType) ? { transform, sources: [i] } : { source: i },
      );
      return {
        layers,
        ...(configEdits.length > 0 && {
          config: (config: Record<string, unknown>) =>
            configEdits.reduce((edited, edit) => edit(edited), config),
        }),
      };
    };
  }
}

function readable(mediaType: string): boolean {
  const kind = layerKindOf(mediaType);
  return kind !== undefined && !kind.encrypted && !kind.nondistributable;
}
