import type { EntryFilter } from './entry-filter.js';
import { exclude } from './exclude.js';
import { normalizeTimestamps } from './normalize-timestamps.js';

/**
 * What makes a filter again on a filter worker (plain data, as a message carries it): given by
 * filters that keep nothing for the calling thread (no `end`, nothing to report). The others
 * (search, inspect) run on the calling thread.
 */
export type FilterRecipe =
  | { name: 'normalize-timestamps'; seconds: number }
  | { name: 'exclude'; globs: string[]; filter: string };

export function filterFromRecipe(recipe: FilterRecipe): EntryFilter {
  switch (recipe.name) {
    case 'normalize-timestamps':
      return normalizeTimestamps(recipe.seconds);
    case 'exclude':
      return exclude(recipe.globs, recipe.filter);
  }
}
