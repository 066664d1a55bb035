import type { Command } from 'commander';
import { formatBytes, formatTable } from '../format.js';
import { openLocalStore } from '../local-store.js';
import { printResult } from '../output.js';

/** `concil cache ls|prune|gc|verify`: what the local cache holds, and keeping it in shape. */
export function registerCache(program: Command): void {
  const cache = program
    .command('cache')
    .description('the local content cache (cache_dir of the configuration)');

  cache
    .command('ls')
    .description('list the cached images with their size and last use')
    .option('--json', 'print the list as JSON')
    .action(async (options: { json?: boolean }) => {
      const store = await openLocalStore();
      printResult(options.json, await store.list(), (images) =>
        images.length === 0
          ? [`the cache ${store.layout.root} holds no image`]
          : [
              formatTable([
                ['REFERENCE', 'DIGEST', 'PLATFORM', 'SIZE', 'LAST USED'],
                ...images.map((image) => [
                  image.reference,
                  image.digest.slice(0, 19),
                  image.platform ?? '',
                  formatBytes(image.size),
                  new Date(image.lastUsed).toISOString().replace(/\.\d+Z$/, 'Z'),
                ]),
              ]),
            ],
      );
    });

  cache
    .command('prune')
    .description(
      'remove images unused for longer than cache_timeout, then the least recently used while over cache_max_bytes',
    )
    .option('--all', 'remove every image and everything cached')
    .option('--json', 'print the result as JSON')
    .action(async (options: { all?: boolean; json?: boolean }) => {
      const store = await openLocalStore();
      printResult(options.json, await store.prune({ all: options.all === true }), (result) => [
        ...result.removedImages.map((reference) => `removed ${reference}`),
        `removed ${result.removedImages.length} images, ${result.removedFiles} files, freed ${formatBytes(result.freedBytes)}`,
      ]);
    });

  cache
    .command('gc')
    .description(
      'remove content no cached image references (unused for an hour) and leftovers of killed processes',
    )
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      const store = await openLocalStore();
      printResult(options.json, await store.gc(), (result) => [
        `removed ${result.removedFiles} files, freed ${formatBytes(result.freedBytes)}`,
      ]);
    });

  cache
    .command('verify')
    .description(
      're-hash everything in the cache; report and remove damaged entries (pulled again when next used)',
    )
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      const store = await openLocalStore();
      const result = await store.verify();
      printResult(options.json, result, ({ checked, problems }) => [
        ...problems.map((problem) => `removed ${problem.kind} ${problem.subject}: ${problem.problem}`),
        `checked ${checked} entries, ${problems.length} damaged`,
      ]);
      if (result.problems.length > 0) process.exitCode = 1;
    });
}
