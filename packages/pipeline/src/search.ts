import type { Descriptor } from '@concil/oci-spec';
import type { EntryFilter, EntryPass } from './entry-filter.js';
import type { FilteredImage } from './filter-run.js';
import { globMatcher, type PathMatcher, regexMatcher } from './path-pattern.js';

/** An entry a search found: where, and what it is. */
export interface SearchMatch {
  /** The image manifest's digest, and its platform when it comes from an index. */
  manifest: string;
  platform?: string;
  /** The layer's digest, as the source manifest names it. */
  layer: string;
  path: string;
  /** tar-stream's word for the entry: file, directory, symlink, link, character-device… */
  type: string;
  size: number;
  /** Where a symbolic or hard link points. */
  linkname?: string;
}

type Found = Pick<SearchMatch, 'path' | 'type' | 'size' | 'linkname'>;

/**
 * `search:PATTERN`: records every entry whose path matches PATTERN (a glob as `exclude` takes
 * it, or a regular expression), layer by layer, and passes every entry on unchanged.
 */
export class SearchFilter implements EntryFilter {
  readonly rewrites = false;
  readonly id: string;
  readonly #match: PathMatcher;
  /** What each layer holds that matches, by the layer's digest, in the layer's order. */
  readonly #found = new Map<string, Found[]>();

  constructor(
    readonly pattern: string,
    readonly regex: boolean,
    filter: string,
  ) {
    this.id = `search:${regex ? 'regex' : 'glob'}:${pattern}`;
    this.#match = regex ? regexMatcher(pattern, filter) : globMatcher(pattern, filter);
  }

  start(layer: Descriptor): EntryPass {
    const found: Found[] = [];
    this.#found.set(layer.digest, found);
    return {
      entry: ({ header, path }) => {
        if (this.#match(path)) {
          found.push({
            path,
            type: header.type ?? 'file',
            size: header.size ?? 0,
            ...(header.linkname && { linkname: header.linkname }),
          });
        }
        return header;
      },
    };
  }

  /** The matches in each image, in the order of the images, their layers and the layers' entries. */
  matches(images: readonly FilteredImage[]): SearchMatch[] {
    return images.flatMap(({ manifest, platform, layers }) =>
      layers.flatMap((layer) =>
        (this.#found.get(layer) ?? []).map((found) => ({
          manifest,
          ...(platform && { platform }),
          layer,
          ...found,
        })),
      ),
    );
  }
}
