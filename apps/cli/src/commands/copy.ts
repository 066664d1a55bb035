import type { OpenTargetOptions } from '@concil/image';
import type { Platform, ReadOnlyTarget } from '@concil/oci-spec';
import { type Command, Option } from 'commander';
import { addEncryptionOptions, ENCRYPTION_EXAMPLES, encryptionEdit } from '../encryption-options.js';
import { formatBytes } from '../format.js';
import { interruptible } from '../interrupt.js';
import { openLocalStore } from '../local-store.js';
import { printJson } from '../output.js';
import { createCopyProgress } from '../progress.js';
import { addRegistryOptions, locationOptions } from '../registry-options.js';
import { shownLocation } from '../shown-location.js';
import { addEditOptions, EDIT_EXAMPLES, editsFromOptions } from './copy-edits.js';

/** The conversion flags and the layer format each asks for. */
const conversions = {
  tar: { flag: '--tar', to: 'none', what: 'an uncompressed tar' },
  tarGzip: { flag: '--tar-gzip', to: 'gzip', what: 'a gzip-compressed tar' },
  tarZstd: { flag: '--tar-zstd', to: 'zstd', what: 'a zstd-compressed tar' },
  squashfs: { flag: '--squashfs', to: 'squashfs', what: 'squashfs (zstd level 10)' },
} as const;
type Conversion = keyof typeof conversions;

export function registerCopy(program: Command): void {
  const command = program
    .command('copy')
    .description(
      'copy an image between registries (docker://), image directories (dir:PATH), OCI layouts (oci:PATH[:tag]) and archives (oci-archive:FILE[:tag], docker-archive:FILE[:name:tag], as docker save writes)',
    )
    .argument(
      '<source>',
      'docker://host/repo[:tag][@digest], dir:PATH or PATH, oci:PATH[:tag], oci-archive:FILE[:tag], docker-archive:FILE[:name:tag]',
    )
    .argument('<destination>', 'where to put the copy, in the same forms')
    .option('--platform <os/arch[/variant]>', 'which image of a multi-platform index (default: this machine)')
    // skopeo and crane have no "these platforms of an index" either: refused, not silently ignored.
    .addOption(
      new Option('--all', 'copy every platform of an index (not with --platform)').conflicts('platform'),
    )
    .option('--concurrency <n>', 'blobs in flight at once', (v) => Number.parseInt(v, 10), 4)
    .option(
      '--preserve-digests',
      'fail rather than convert a Docker image for an OCI layout (which changes its digest)',
    )
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'no progress display and no summary (as skopeo copy -q)')
    .option('--no-cache', 'always read a registry source from the registry, not from the local cache')
    .option('--src-creds <user:pass>', 'credentials for the source registry')
    .option('--dest-creds <user:pass>', 'credentials for the destination registry');
  for (const [name, { flag, what }] of Object.entries(conversions)) {
    const others = Object.keys(conversions).filter((other) => other !== name);
    command.addOption(new Option(flag, `convert every layer to ${what}`).conflicts(others));
  }
  addEncryptionOptions(addEditOptions(command))
    .addHelpText('after', EDIT_EXAMPLES)
    .addHelpText('after', ENCRYPTION_EXAMPLES);
  addRegistryOptions(command).action(async (source: string, destination: string, options) => {
    const [
      { copy, editImage },
      { openLocation, parseLocation },
      { parsePlatform },
      { withYoungCollections },
    ] = await Promise.all([
      import('@concil/image'),
      import('@concil/pipeline'),
      import('@concil/oci-spec'),
      import('../young-collections.js'),
    ]);
    const platform = options.platform ? parsePlatform(options.platform) : undefined;
    const srcOptions = await locationOptions(source, options, options.srcCreds);
    const openSource = () => openLocation(source, srcOptions);
    // Into mounts:, --squashfs asks for each layer as a squashfs file of overlay whiteouts, not a conversion.
    const squashfsMounts = options.squashfs === true && parseLocation(destination).kind === 'mounts';
    const conversion = (Object.keys(conversions) as Conversion[]).find(
      (name) => options[name] && !(name === 'squashfs' && squashfsMounts),
    );
    const edits = await editsFromOptions(options, conversion && conversions[conversion].to);
    const plainEdit = edits && (await editImage(edits)); // new layers' paths are checked before the copy
    const edit = (await encryptionEdit(options, plainEdit)) ?? plainEdit;
    const src =
      (options.cache &&
        (await cachedSource(source, { platform, all: options.all === true }, srcOptions, openSource))) ||
      openSource();
    const dst = openLocation(destination, {
      ...(await locationOptions(destination, options, options.destCreds)),
      squashfs: squashfsMounts,
    });
    const progress = await createCopyProgress(process.stderr.isTTY && !options.quiet && !options.json);
    try {
      const result = await interruptible(`the copy stopped; ${dst.name} was left as it was`, (signal) =>
        copy(src, dst, {
          ...(platform && { platform }),
          all: options.all === true,
          concurrency: options.concurrency,
          ...(edit && { edit }),
          preserveDigests: options.preserveDigests === true,
          onProgress: withYoungCollections(progress.onProgress),
          signal,
        }),
      );
      progress.stop();
      if (options.json) {
        printJson({
          source: await shownLocation(source),
          destination: await shownLocation(destination),
          ...result,
        });
      } else if (!options.quiet) {
        process.stdout.write(
          `copied ${result.descriptor.digest} to ${dst.name}: ${result.blobsCopied} blobs (${formatBytes(result.bytesCopied)}), ` +
            `${result.blobsSkipped} already there${result.blobsMounted ? `, ${result.blobsMounted} mounted` : ''}` +
            `${result.layersTransformed ? `, ${result.layersTransformed} layers transformed` : ''}\n`,
        );
      }
    } finally {
      progress.stop();
    }
  });
}

/**
 * A registry image the local cache holds is read from there, after the store's one HEAD has
 * confirmed that the tag still points at it (and brought the cache up to date if it moved,
 * reaching the registry as the source's flags say). With `all`, every platform of a cached index
 * is read: what the cache holds from it, the rest from the registry.
 */
async function cachedSource(
  source: string,
  { platform, all }: { platform: Platform | undefined; all: boolean },
  options: OpenTargetOptions,
  openRegistry: () => ReadOnlyTarget,
): Promise<ReadOnlyTarget | undefined> {
  if (!source.startsWith('docker://')) return undefined;
  const store = await openLocalStore();
  const selected = platform ? { platform } : {};
  const cached = await store.image(source, selected);
  if (!cached) return undefined;
  try {
    // For `all`, the refresh keeps to the platform cached: the others are read through anyway.
    const refresh = all && cached.platform ? { platform: cached.platform } : selected;
    await store.pull(source, { ...refresh, ...(options.registry && { registry: options.registry }) });
  } catch {
    return undefined; // the registry is read directly, and its error, if any, reported from there
  }
  return all ? store.cachedIndexTarget(source, openRegistry()) : store.cachedTarget(source, selected);
}
