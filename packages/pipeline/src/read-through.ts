import { type CopyOptions, copy } from '@concil/image';
import type { ReadOnlyTarget } from '@concil/oci-spec';
import { DiscardTarget } from './discard-target.js';
import type { EntryFilter } from './entry-filter.js';
import { PipelineError } from './errors.js';
import { FilterRun } from './filter-run.js';

export type ReadThroughOptions = Pick<
  CopyOptions,
  'reference' | 'platform' | 'all' | 'concurrency' | 'onProgress' | 'signal'
>;

/**
 * Reads every layer of an image (of each platform's image, with `all`) through filters that only
 * read — `concil search` — with the one copy engine, into a destination that keeps nothing.
 * Returns the run, whose images tell what the filters found where.
 */
export async function readThrough(
  src: ReadOnlyTarget,
  filters: readonly EntryFilter[],
  options: ReadThroughOptions = {},
): Promise<FilterRun> {
  const rewriting = filters.find((filter) => filter.rewrites);
  if (rewriting) {
    throw new PipelineError(
      'UNSUPPORTED',
      `${rewriting.id} changes layers, and reading an image writes nothing: use it in concil process SRC DST`,
      rewriting.id,
    );
  }
  const run = new FilterRun(filters);
  await copy(src, new DiscardTarget(), { ...options, edit: run.edit });
  return run;
}
