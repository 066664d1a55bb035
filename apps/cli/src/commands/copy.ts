import type { Platform, ReadOnlyTarget } from '@concil/oci-spec';
import type { Command } from 'commander';
import { formatBytes } from '../format.js';
import { openLocalStore } from '../local-store.js';
import { printJson } from '../output.js';
import { createCopyProgress } from '../progress.js';
import { addRegistryOptions, targetOptions } from '../registry-options.js';

export function registerCopy(program: Command): void {
  const command = program
    .command('copy')
    .description(
      'copy an image between registries (docker://), image directories (dir:PATH) and OCI layouts (oci:PATH[:tag])',
    )
    .argument('<source>', 'docker://host/repo[:tag][@digest], dir:PATH or PATH, oci:PATH[:tag]')
    .argument('<destination>', 'where to put the copy, in the same forms')
    .option('--platform <os/arch[/variant]>', 'which image of a multi-platform index (default: this machine)')
    .option('--all', 'copy every platform of an index')
    .option('--concurrency <n>', 'blobs in flight at once', (v) => Number.parseInt(v, 10), 4)
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'no progress display')
    .option('--no-cache', 'always read a registry source from the registry, not from the local cache')
    .option('--src-creds <user:pass>', 'credentials for the source registry')
    .option('--dest-creds <user:pass>', 'credentials for the destination registry');
  addRegistryOptions(command).action(async (source: string, destination: string, options) => {
    const [{ copy, openTarget }, { parsePlatform }] = await Promise.all([
      import('@concil/image'),
      import('@concil/oci-spec'),
    ]);
    const platform = options.platform ? parsePlatform(options.platform) : undefined;
    const src =
      (options.cache && !options.all && (await cachedSource(source, platform))) ||
      openTarget(source, targetOptions(options, options.srcCreds));
    const dst = openTarget(destination, targetOptions(options, options.destCreds));
    const progress = createCopyProgress(process.stderr.isTTY && !options.quiet && !options.json);
    try {
      const result = await copy(src, dst, {
        ...(platform && { platform }),
        all: options.all === true,
        concurrency: options.concurrency,
        ...(progress.onProgress && { onProgress: progress.onProgress }),
      });
      progress.stop();
      if (options.json) {
        printJson({ source, destination, ...result });
      } else {
        process.stdout.write(
          `copied ${result.descriptor.digest} to ${dst.name}: ${result.blobsCopied} blobs (${formatBytes(result.bytesCopied)}), ` +
            `${result.blobsSkipped} already there${result.blobsMounted ? `, ${result.blobsMounted} mounted` : ''}\n`,
        );
      }
    } finally {
      progress.stop();
    }
  });
}

/**
 * A registry image the local cache holds is read from there, after the store's one HEAD has
 * confirmed that the tag still points at it (and brought the cache up to date if it moved).
 */
async function cachedSource(
  source: string,
  platform: Platform | undefined,
): Promise<ReadOnlyTarget | undefined> {
  if (!source.startsWith('docker://')) return undefined;
  const store = await openLocalStore();
  const options = platform ? { platform } : {};
  if (!(await store.image(source, options))) return undefined;
  try {
    await store.pull(source, options);
  } catch {
    return undefined; // the registry is read directly, and its error, if any, reported from there
  }
  return store.cachedTarget(source, options);
}
