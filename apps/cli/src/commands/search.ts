import type { ReadOnlyTarget } from '@concil/oci-spec';
import { type Command, Option } from 'commander';
import { openCopySource } from '../copy-source.js';
import { addSocketOption, withSocket } from '../daemon-socket.js';
import { matchLine } from '../filter-report.js';
import { interruptible } from '../interrupt.js';
import { printJson } from '../output.js';
import { addRegistryOptions, locationOptions, type RegistryFlags } from '../registry-options.js';
import { shownLocation } from '../shown-location.js';

interface SearchFlags extends RegistryFlags {
  regex?: boolean;
  json?: boolean;
  platform?: string;
  all?: boolean;
  concurrency?: number;
  srcCreds?: string;
  socket?: string;
}

export function registerSearch(program: Command): void {
  const command = program
    .command('search')
    .description(
      "list the entries of an image's layers whose path matches PATTERN (image, layer, path, type, size), reading the layers and writing nothing",
    )
    .argument(
      '<image>',
      "where the image is, in any form concil copy reads (occystrap's registry:// and tar:// too)",
    )
    .argument(
      '<pattern>',
      'a glob (without /: the last part of a path; with /: the whole path; ** spans directories)',
    )
    .option('--regex', 'PATTERN is a regular expression, searched for in the whole path')
    .option('--json', 'print the matches as JSON')
    .option('--platform <os/arch[/variant]>', 'which image of a multi-platform index (default: this machine)')
    .addOption(
      new Option('--all', 'search every platform of an index (not with --platform)').conflicts('platform'),
    )
    .option('--concurrency <n>', 'layers read at once', (v) => Number.parseInt(v, 10), 4)
    .option('--src-creds <user:pass>', 'credentials for the registry')
    .addHelpText(
      'after',
      `
Examples:
  concil search docker://registry.example.com/app:1 'bin/*sh'
  concil search --regex --json oci:app:1 '\\.py$'
  concil search --all registry://registry.example.com/app@sha256:… '*.conf'`,
    );
  addRegistryOptions(addSocketOption(command)).action(
    async (image: string, pattern: string, options: SearchFlags) => {
      const [
        { canonicalLocation, closeLocation, openLocation, readThrough, SearchFilter },
        { parsePlatform },
      ] = await Promise.all([import('@concil/pipeline'), import('@concil/oci-spec')]);
      const search = new SearchFilter(pattern, options.regex === true, 'PATTERN');
      const source = canonicalLocation(image);
      const srcOptions = withSocket(await locationOptions(source, options, options.srcCreds), options);
      const platform = options.platform ? parsePlatform(options.platform) : undefined;
      // A registry image is read through the trust policy, as copy and pull read it.
      let opened: ReadOnlyTarget | undefined;
      const src = await openCopySource(
        source,
        { platform, all: options.all === true, cache: false },
        srcOptions,
        () => (opened = openLocation(source, srcOptions)),
      );
      const run = await interruptible('the search stopped', (signal) =>
        readThrough(src, [search], {
          ...(platform && { platform }),
          all: options.all === true,
          ...(options.concurrency && { concurrency: options.concurrency }),
          signal,
        }),
      ).finally(() => opened && closeLocation(opened));
      const shown = await shownLocation(source);
      const matches = search.matches(run.images).map((match) => ({ image: shown, ...match }));
      if (options.json) printJson({ image: shown, pattern, regex: search.regex, matches });
      else if (matches.length > 0) process.stdout.write(`${matches.map(matchLine).join('\n')}\n`);
    },
  );
}
