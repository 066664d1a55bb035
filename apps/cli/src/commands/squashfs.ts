import { once } from 'node:events';
import type { CompressorName } from '@concil/squashfs';
import type { Command } from 'commander';
import { printJson } from '../output.js';
import { entryRecord, writeJsonArray } from '../squashfs-json.js';

const COMPRESSORS = ['gzip', 'zstd', 'xz', 'lz4'];

function integer(what: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new Error(`${what} must be an integer, got "${value}"`);
    return n;
  };
}

/** Block sizes may be given as bytes or with a K/M suffix (128K, 1M). */
function blockSize(value: string): number {
  const m = /^(\d+)([kKmM]?)$/.exec(value);
  if (!m) throw new Error(`block size must be a number of bytes, optionally with K or M, got "${value}"`);
  const unit = m[2]?.toLowerCase() === 'k' ? 1024 : m[2]?.toLowerCase() === 'm' ? 1024 * 1024 : 1;
  return Number(m[1]) * unit;
}

type Squashfs = typeof import('@concil/squashfs');

/**
 * Runs an action with the squashfs package, loaded only now (see main.ts). Reports SquashfsErrors
 * as one readable line and a non-zero exit code instead of a stack trace; with `--json`, main
 * prints them as a JSON error object.
 */
async function reporting(action: (squashfs: Squashfs) => Promise<void>, json = false): Promise<void> {
  const squashfs = await import('@concil/squashfs');
  const { SquashfsError } = squashfs;
  try {
    await action(squashfs);
  } catch (err) {
    if (err instanceof SquashfsError && !json) {
      process.stderr.write(`concil squashfs: ${err.message} [${err.code}]\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}

/** `concil squashfs ls IMAGE | head` should stop quietly when the reader goes away. */
function quietOnClosedStdout(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

export function registerSquashfs(program: Command): void {
  const squashfs = program
    .command('squashfs')
    .description('convert image layers (tar) to squashfs images and back');

  squashfs
    .command('create')
    .description(
      'convert a layer tar (.tar, .tar.gz or .tar.zst, recognised by content) into a squashfs image',
    )
    .argument('<tar>', 'layer tar, or - to read standard input')
    .argument('<image>', 'squashfs image to write (replaced only when complete)')
    .option('--compressor <name>', `block compressor: ${COMPRESSORS.join(', ')}`, 'gzip')
    .option(
      '--level <n>',
      'compression level (default: 9 for gzip, 15 for zstd, 6 for xz; lz4 has none)',
      integer('level'),
    )
    .option('--block-size <bytes>', 'data block size, a power of two from 4K to 1M', blockSize, 131072)
    .option('--overlay-whiteouts', 'turn OCI whiteouts (.wh.*) into overlayfs whiteouts')
    .option('--json', 'print { image, bytes, inodes, … } as JSON on standard output')
    .action(
      (
        tar: string,
        image: string,
        opts: {
          compressor: string;
          level?: number;
          blockSize: number;
          overlayWhiteouts?: boolean;
          json?: boolean;
        },
      ) =>
        reporting(async ({ createSquashfs, decompressedTar }) => {
          // A file by its path: the writer reads it through reused buffers and recognises its compression.
          const input = tar === '-' ? decompressedTar(process.stdin) : tar;
          const stats = await createSquashfs(input, image, {
            compressor: opts.compressor as CompressorName,
            level: opts.level,
            blockSize: opts.blockSize,
            overlayWhiteouts: opts.overlayWhiteouts ?? false,
          });
          if (opts.json) {
            printJson({ image, ...stats });
            return;
          }
          process.stderr.write(
            `${image}: ${stats.bytes} bytes, ${stats.inodes} inodes (${stats.files} files, ` +
              `${stats.directories} directories), ${stats.duplicateFiles} duplicate files shared, ${stats.compressor}\n`,
          );
          if (stats.skippedXattrs.length > 0) {
            process.stderr.write(
              `warning: xattrs squashfs cannot store were left out: ${stats.skippedXattrs.join(', ')}\n`,
            );
          }
        }, opts.json),
    );

  squashfs
    .command('ls')
    .description('list the entries of a squashfs image (like unsquashfs -lln, times in UTC)')
    .argument('<image>', 'squashfs image')
    .option('--json', 'print a JSON array of { path, type, mode, uid, gid, size, mtime, nlink, … }')
    .action((image: string, opts: { json?: boolean }) =>
      reporting(async ({ formatEntry, openSquashfs }) => {
        quietOnClosedStdout();
        const reader = await openSquashfs(image);
        try {
          if (opts.json) await writeJsonArray(reader.walk(), entryRecord);
          else for (const entry of reader.walk()) process.stdout.write(`${formatEntry(entry)}\n`);
        } finally {
          reader.close();
        }
      }, opts.json),
    );

  squashfs
    .command('extract')
    .description('write the whole image as a tar (hard links as links, xattrs as PAX records)')
    .argument('<image>', 'squashfs image')
    .argument('<tar>', 'tar to write, or - for standard output')
    .action((image: string, tar: string) =>
      reporting(async ({ squashfsToTar }) => {
        if (tar !== '-') {
          // The tar appears under its name only once complete: a failure leaves what was there.
          const { writeFileAtomic } = await import('@concil/image');
          await writeFileAtomic(tar, squashfsToTar(image));
          return;
        }
        quietOnClosedStdout();
        // Written by hand, not piped: a failing image must not destroy standard output, whose error
        // would then escape as a crash instead of one line from `reporting`.
        for await (const chunk of squashfsToTar(image)) {
          if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
        }
      }),
    );
}
