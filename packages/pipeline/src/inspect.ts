import type { Descriptor } from '@concil/oci-spec';
import type { EntryFilter, EntryPass } from './entry-filter.js';
import type { FilteredImage } from './filter-run.js';

/** What `inspect` records of a layer as it passes. */
export interface LayerInspection {
  manifest: string;
  platform?: string;
  /**
   * The layer as the filter saw it: the source layer, or, after a filter that rewrites layers,
   * the layer written.
   */
  digest: string;
  mediaType: string;
  size: number;
  diffId: string;
  /** The source layer's digest, where the layer seen is a rewritten one. */
  sourceDigest?: string;
  entries: number;
  /** The bytes of its regular files. */
  fileBytes: number;
  /** Its largest regular files, largest first. */
  largest: { path: string; size: number }[];
}

type Record_ = Omit<LayerInspection, 'manifest' | 'platform'>;

/**
 * `inspect[:FILE]`: records each layer's digest, size, entry count and largest files as it
 * passes; the command prints them, or writes them to FILE as JSON.
 */
export class InspectFilter implements EntryFilter {
  readonly rewrites = false;
  readonly id: string;
  readonly #layers = new Map<string, Record_>();

  constructor(
    readonly file: string | undefined,
    readonly top = 10,
  ) {
    this.id = `inspect:${top}`;
  }

  start(layer: Descriptor): EntryPass {
    let entries = 0;
    let fileBytes = 0;
    const largest: { path: string; size: number }[] = [];
    return {
      entry: ({ header, path }) => {
        entries++;
        const size = header.size ?? 0;
        if ((header.type ?? 'file') === 'file') {
          fileBytes += size;
          if (largest.length < this.top || size > largest.at(-1)!.size) {
            largest.splice(insertionPoint(largest, size), 0, { path, size });
            if (largest.length > this.top) largest.pop();
          }
        }
        return header;
      },
      end: (seen) => {
        this.#layers.set(layer.digest, {
          digest: seen.descriptor.digest,
          mediaType: seen.descriptor.mediaType,
          size: seen.descriptor.size,
          diffId: seen.diffId,
          ...(seen.descriptor.digest !== layer.digest && { sourceDigest: layer.digest }),
          entries,
          fileBytes,
          largest,
        });
      },
    };
  }

  /** The records of each image's layers, in the order of the images and their layers. */
  layers(images: readonly FilteredImage[]): LayerInspection[] {
    return images.flatMap(({ manifest, platform, layers }) =>
      layers.flatMap((layer) => {
        const record = this.#layers.get(layer);
        return record ? [{ manifest, ...(platform && { platform }), ...record }] : [];
      }),
    );
  }
}

/** Where `size` goes in a list sorted largest first, after the entries of the same size. */
function insertionPoint(list: readonly { size: number }[], size: number): number {
  const at = list.findIndex((item) => item.size < size);
  return at < 0 ? list.length : at;
}
