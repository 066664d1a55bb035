import type { ImageEditor } from '@concil/image';
import type { Descriptor, ReadOnlyTarget, Target } from '@concil/oci-spec';
import { canonicalLocation, pipelineTransportOf } from '@concil/pipeline/location-spec';
import { type Command, Option } from 'commander';
import { copySummary, openCopySource } from '../copy-source.js';
import { addSocketOption, withSocket } from '../daemon-socket.js';
import { addEncryptionOptions, ENCRYPTION_EXAMPLES, encryptionEdit } from '../encryption-options.js';
import { interruptible } from '../interrupt.js';
import { openerOf } from '../locations.js';
import { printJson } from '../output.js';
import { createCopyProgress } from '../progress.js';
import { addRegistryOptions, locationOptions, type RegistryFlags } from '../registry-options.js';
import { shownLocation } from '../shown-location.js';
import { withYoungCollections } from '../young-collections.js';
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
  const command = addCopyOptions(
    program
      .command('copy')
      .description(
        'copy an image between registries (docker://), image directories (dir:PATH), OCI layouts (oci:PATH[:tag]), archives (oci-archive:FILE[:tag], docker-archive:FILE[:name:tag], as docker save writes) and a Docker or Podman daemon (docker-daemon:NAME[:TAG])',
      )
      .argument(
        '<source>',
        'docker://host/repo[:tag][@digest], dir:PATH or PATH, oci:PATH[:tag], oci-archive:FILE[:tag], docker-archive:FILE[:name:tag], docker-daemon:NAME[:TAG]',
      )
      .argument('<destination>', 'where to put the copy, in the same forms'),
  );
  for (const [name, { flag, what }] of Object.entries(conversions)) {
    const others = Object.keys(conversions).filter((other) => other !== name);
    command.addOption(new Option(flag, `convert every layer to ${what}`).conflicts(others));
  }
  command.option(
    '--referrers',
    "also copy the image's signatures and other referrers (cosign's .sig/.att/.sbom tags, OCI referrers) to the destination registry",
  );
  addEncryptionOptions(addEditOptions(command))
    .addHelpText('after', EDIT_EXAMPLES)
    .addHelpText('after', ENCRYPTION_EXAMPLES);
  addRegistryOptions(command).action(async (source: string, destination: string, options) => {
    const { editImage } = await import('@concil/image');
    // Into mounts:, --squashfs asks for each layer as a squashfs file of overlay whiteouts, not a conversion.
    const squashfsMounts =
      options.squashfs === true && pipelineTransportOf(canonicalLocation(destination)) === 'mounts';
    const conversion = (Object.keys(conversions) as Conversion[]).find(
      (name) => options[name] && !(name === 'squashfs' && squashfsMounts),
    );
    const edits = await editsFromOptions(options, conversion && conversions[conversion].to);
    const plainEdit = edits && (await editImage(edits)); // new layers' paths are checked before the copy
    const edit = (await encryptionEdit(options, plainEdit)) ?? plainEdit;
    if (options.referrers && !destination.startsWith('docker://')) {
      command.error(
        `concil: --referrers needs a registry destination (docker://…): ${destination} keeps no referrers`,
      );
    }
    if (options.referrers && (edit || conversion)) {
      command.error(
        'concil: --referrers copies signatures of the image as it is: not with conversions or edits, which change its digest',
      );
    }
    await runCopy(source, destination, options, {
      ...(edit && { edit }),
      squashfsMounts,
      ...(options.referrers && { referrers: true }),
    });
  });
}

/** The options of a copy that `copy` and `process` share: which images, how, what is printed. */
export function addCopyOptions(command: Command): Command {
  return (
    addSocketOption(command)
      .option(
        '--platform <os/arch[/variant]>',
        'which image of a multi-platform index (default: this machine)',
      )
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
      .option('--dest-creds <user:pass>', 'credentials for the destination registry')
  );
}

/** The flags of `addCopyOptions` and `addRegistryOptions`, as commander gives them. */
export interface CopyFlags extends RegistryFlags {
  platform?: string;
  all?: boolean;
  concurrency?: number;
  preserveDigests?: boolean;
  json?: boolean;
  quiet?: boolean;
  cache?: boolean;
  srcCreds?: string;
  destCreds?: string;
  socket?: string;
}

/** What a command adds to a copy: the edit of its images, and what it prints of them afterwards. */
export interface CopyAdditions {
  edit?: ImageEditor;
  /**
   * How many layer transforms run at once, when not copy's default (half the CPUs, for conversions
   * that compress on every core by themselves).
   */
  transformConcurrency?: number;
  /** The destination is `mounts:` and its layers are to be squashfs files (`--squashfs`). */
  squashfsMounts?: boolean;
  /** After the copy: fields of the `--json` result, and lines printed before the summary. */
  report?: () => Promise<{ json: Record<string, unknown>; text: string[] }>;
  /** Copy the image's signatures and other referrers too (a registry source and destination). */
  referrers?: boolean;
}

/**
 * The copy of `concil copy` and `concil process`: the locations opened through the pipeline's one
 * opener (occystrap's `registry://` and `tar://` forms taken too), a registry source read from the
 * local cache when it holds the image, progress on a terminal, SIGINT/SIGTERM stopping it cleanly,
 * and the result printed as the flags say.
 */
export async function runCopy(
  sourceSpec: string,
  destinationSpec: string,
  options: CopyFlags,
  { edit, report, squashfsMounts, transformConcurrency, referrers: withReferrers }: CopyAdditions = {},
): Promise<void> {
  const source = canonicalLocation(sourceSpec);
  const destination = canonicalLocation(destinationSpec);
  const [{ copy }, locations, { parsePlatform }] = await Promise.all([
    import('@concil/image'),
    openerOf(source, destination),
    import('@concil/oci-spec'),
  ]);
  const platform = options.platform ? parsePlatform(options.platform) : undefined;
  const srcOptions = withSocket(await locationOptions(source, options, options.srcCreds), options);
  let opened: Target | undefined; // what the cache does not serve; a daemon's is closed at the end
  const src = await openCopySource(
    source,
    { platform, all: options.all === true, cache: options.cache === true },
    srcOptions,
    () => (opened = locations.open(source, srcOptions)),
  );
  const dst = locations.open(destination, {
    ...withSocket(await locationOptions(destination, options, options.destCreds), options),
    ...(squashfsMounts && { squashfs: true }),
  });
  const progress = await createCopyProgress(process.stderr.isTTY && !options.quiet && !options.json);
  try {
    const result = await interruptible(`the copy stopped; ${dst.name} was left as it was`, (signal) =>
      copy(src, dst, {
        ...(platform && { platform }),
        all: options.all === true,
        concurrency: options.concurrency,
        ...(transformConcurrency && { transformConcurrency }),
        ...(edit && { edit }),
        preserveDigests: options.preserveDigests === true,
        onProgress: withYoungCollections(progress.onProgress),
        signal,
      }),
    );
    const referrers = withReferrers
      ? await interruptible(`the copy of the referrers stopped; ${dst.name} holds the image`, (signal) =>
          copyAttachments(
            locations.open(source, srcOptions),
            dst,
            result.descriptor,
            options.concurrency,
            signal,
          ),
        )
      : undefined;
    progress.stop();
    const added = await report?.();
    if (options.json) {
      printJson({
        source: await shownLocation(source),
        destination: await shownLocation(destination),
        ...result,
        ...(referrers && { referrers }),
        ...added?.json,
      });
      return;
    }
    if (added && added.text.length > 0) process.stdout.write(`${added.text.join('\n')}\n`);
    if (!options.quiet) {
      process.stdout.write(
        `copied ${copySummary(result, dst.name)}${referrers ? `, ${referrers.length} signatures and other referrers` : ''}\n`,
      );
    }
  } finally {
    progress.stop();
    if (opened) await locations.close(opened);
  }
}

/**
 * Copies the signatures and other referrers of what was copied (the root and, for an index, its
 * manifests) from the registry itself (not the cache, which keeps no attachments; not through
 * the trust policy: attachments are no images, and the image itself was verified).
 */
async function copyAttachments(
  src: ReadOnlyTarget,
  dst: Target,
  root: Descriptor,
  concurrency: number | undefined,
  signal: AbortSignal,
) {
  const [{ copyReferrers }, { fetchManifest }] = await Promise.all([
    import('@concil/image'),
    import('@concil/oci-spec'),
  ]);
  const parsed = await fetchManifest(dst, root);
  const subjects = [
    root.digest,
    ...(parsed.kind === 'index' ? parsed.index.manifests.map((m) => m.digest) : []),
  ];
  return copyReferrers(src, dst, subjects, { ...(concurrency !== undefined && { concurrency }), signal });
}
