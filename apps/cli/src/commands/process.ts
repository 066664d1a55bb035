import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { filterReport } from '../filter-report.js';
import { addRegistryOptions } from '../registry-options.js';
import { addCopyOptions, runCopy } from './copy.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

const PROCESS_EXAMPLES = `
Filters (-f NAME[:ARG], repeatable, applied in order in one pass over each layer):
  normalize-timestamps[:TS]  every mtime TS (seconds since 1970 or an ISO 8601 time; 0 without),
                             the config's created times too: the same files give the same digests
  exclude:GLOB[,GLOB…]       drop matching paths (a directory with what is below it); a comma
                             inside a glob is written \\, (or stands inside {…})
  search:PATTERN             print image, layer, path, type and size of each matching entry
                             (a glob; a regular expression with --regex or search:regex=PATTERN)
  inspect[:FILE]             print (or write to FILE as JSON) each layer's digest, size, entry
                             count and largest files
A glob without / matches the last part of a path, one with / the whole path; ** spans directories.
occystrap's registry://HOST/REPO:TAG and tar://FILE are taken for docker:// and docker-archive:.

Examples:
  two builds of the same files, the same digests:
    concil process -f normalize-timestamps docker://registry.example.com/app:1 oci:app-reproducible:1
  drop caches and logs, then list what is left of /etc:
    concil process -f 'exclude:**/__pycache__,*.log' -f 'search:etc/**' oci:app:1 docker-archive:app.tar:app:1
  record the layers before and after normalizing:
    concil process -f inspect:before.json -f normalize-timestamps -f inspect:after.json SRC DST`;

export function registerProcess(program: Command): void {
  const command = addCopyOptions(
    program
      .command('process')
      .description(
        "copy an image through filters (normalize timestamps, exclude paths, search, inspect layers): concil copy's locations and flags, occystrap's registry:// and tar:// too",
      )
      .argument('<source>', 'where the image is, in any form concil copy reads')
      .argument('<destination>', 'where to put the filtered image, in any form concil copy writes'),
  )
    .option('-f, --filter <NAME[:ARG]>', 'a filter (repeatable, applied in order; see below)', collect)
    .option('--regex', 'search patterns are regular expressions, not globs')
    .addHelpText('after', PROCESS_EXAMPLES);
  addRegistryOptions(command).action(async (source: string, destination: string, options) => {
    const { FilterRun, parseFilters } = await import('@concil/pipeline');
    // Every filter is read before anything is opened: a wrong one leaves the destination alone.
    const run = new FilterRun(parseFilters(options.filter ?? [], { regex: options.regex === true }));
    await runCopy(source, destination, options, {
      ...(run.filters.length > 0 && { edit: run.edit }),
      // A filter rewrites a layer on a worker thread, its gzip on one of libuv's: two layers per CPU,
      // so that while one layer's gzip waits for its worker between chunks another's runs.
      transformConcurrency: 2 * availableParallelism(),
      report: () => filterReport(run, source),
    });
  });
}
