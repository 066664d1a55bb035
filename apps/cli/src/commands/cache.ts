import { openStore } from '@concil/store';
import type { Command } from 'commander';
import { formatBytes, formatTable } from '../format.js';
import { printJson } from '../output.js';

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
      const store = await openStore();
      const images = await store.list();
      if (options.json) {
        printJson(images);
        return;
      }
      if (images.length === 0) {
        process.stdout.write(`the cache ${store.layout.root} holds no image\n`);
        return;
      }
      const rows = [['REFERENCE', 'DIGEST', 'PLATFORM', 'SIZE', 'LAST USED']];
      for (const image of images) {
        rows.push([
          image.reference,
          image.digest.slice(0, 19),
          image.platform ?? '',
          formatBytes(image.size),
          new Date(image.lastUsed).toISOString().replace(/\.\d+Z$/, 'Z'),
        ]);
      }
      process.stdout.write(`${formatTable(rows)}\n`);
    });

  cache
    .command('prune')
    .description(
      'remove images unused for longer than cache_timeout, then the least recently used while over cache_max_bytes',
    )
    .option('--all', 'remove every image and everything cached')
    .option('--json', 'print the result as JSON')
    .action(async (options: { all?: boolean; json?: boolean }) => {
      const store = await openStore();
      const result = await store.prune({ all: options.all === true });
      if (options.json) {
        printJson(result);
        return;
      }
      for (const reference of result.removedImages) process.stdout.write(`removed ${reference}\n`);
      process.stdout.write(
        `removed ${result.removedImages.length} images, ${result.removedFiles} files, freed ${formatBytes(result.freedBytes)}\n`,
      );
    });

  cache
    .command('gc')
    .description(
      'remove content no cached image references (unused for an hour) and leftovers of killed processes',
    )
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      const store = await openStore();
      const result = await store.gc();
      if (options.json) {
        printJson(result);
        return;
      }
      process.stdout.write(`removed ${result.removedFiles} files, freed ${formatBytes(result.freedBytes)}\n`);
    });

  cache
    .command('verify')
    .description(
      're-hash everything in the cache; report and remove damaged entries (pulled again when next used)',
    )
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      const store = await openStore();
      const result = await store.verify();
      if (options.json) {
        printJson(result);
      } else {
        for (const problem of result.problems) {
          process.stdout.write(`removed ${problem.kind} ${problem.subject}: ${problem.problem}\n`);
        }
        process.stdout.write(`checked ${result.checked} entries, ${result.problems.length} damaged\n`);
      }
      if (result.problems.length > 0) process.exitCode = 1;
    });
}
