import type { Descriptor } from '@concil/oci-spec';
import type tarStream from 'tar-stream';
import type { FilterRecipe } from './filter-recipe.js';

/**
 * A filter of `concil process -f`: it sees every entry of every layer, in order, and passes it
 * on (changed or not) or drops it. The filters of one command run in one pass over each layer
 * (`filterTransform`), each seeing what the filters before it passed on.
 */
export interface EntryFilter {
  /** What the filter does, with every option that changes its output: part of the transform id. */
  readonly id: string;
  /**
   * Whether it changes what a layer holds: then every layer is written anew (and its digests
   * recomputed); a chain of filters that only read passes each layer's bytes on unchanged.
   */
  readonly rewrites: boolean;
  /**
   * How a filter worker makes the same filter, when it can: a chain of such filters that rewrites
   * runs each layer on a worker thread, off the thread that drives the copy.
   */
  readonly recipe?: FilterRecipe;
  /** Starts one pass over one layer. */
  start(layer: Descriptor): EntryPass;
  /** Edits the image config (the parsed JSON) of each image the filter's layers belong to. */
  editConfig?(config: Record<string, unknown>): Record<string, unknown>;
}

/** A tar entry as a filter sees it: its header, and its path without `./`, leading or trailing `/`. */
export interface FilteredEntry {
  header: tarStream.Header;
  path: string;
}

/** One filter's pass over one layer. */
export interface EntryPass {
  /** The header to pass on (the same, or changed), or undefined to drop the entry. */
  entry(entry: FilteredEntry): tarStream.Header | undefined;
  /**
   * The layer is done. `seen` is the layer as this filter saw it: the source layer, or, after a
   * filter that rewrites, the layer written.
   */
  end?(seen: { descriptor: Descriptor; diffId: string }): void;
}

/** An entry's path as filters match it: `./usr/bin/` → `usr/bin`, the root `./` → ``. */
export function entryPath(name: string): string {
  return name
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .join('/');
}
