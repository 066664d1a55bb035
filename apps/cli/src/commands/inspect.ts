import type { Command } from 'commander';
import { addSocketOption, withSocket } from '../daemon-socket.js';
import { openerOf } from '../locations.js';
import { printJson } from '../output.js';
import { addRegistryOptions, targetOptions } from '../registry-options.js';

/** `concil inspect`: skopeo inspect's shape, JSON always; `--raw` and `--config` as skopeo. */
export function registerInspect(program: Command): void {
  const command = program
    .command('inspect')
    .description('describe an image as skopeo inspect does (JSON), or print its manifest or config')
    .argument(
      '<image>',
      'docker://host/repo[:tag][@digest], dir:PATH or PATH, oci:PATH[:tag], oci-archive:FILE[:tag], docker-archive:FILE[:name:tag], docker-daemon:NAME[:TAG]',
    )
    .option('--raw', 'print the manifest (an index as it is) byte for byte; with --config, the config')
    .option('--config', 'print the image config (of the chosen platform)')
    .option('--platform <os/arch[/variant]>', 'which image of a multi-platform index (default: this machine)')
    .option('--no-tags', 'do not list the repository tags (RepoTags stays empty)')
    .option('--json', 'print JSON (the default; accepted for symmetry with the other commands)')
    .option('--creds <user:pass>', 'credentials for the registry');
  addRegistryOptions(addSocketOption(command)).action(async (spec: string, options) => {
    const [{ inspectImage, readImageManifest }, locations, { fetchBytes, parseImageConfig, parsePlatform }] =
      await Promise.all([import('@concil/image'), openerOf(spec), import('@concil/oci-spec')]);
    const target = locations.open(spec, withSocket(targetOptions(options, options.creds), options));
    const platform = options.platform ? { platform: parsePlatform(options.platform) } : {};
    try {
      if (options.config) {
        const { manifest } = await readImageManifest(target, platform);
        const bytes = await fetchBytes(target, manifest.config);
        if (options.raw) process.stdout.write(bytes);
        else printJson(parseImageConfig(bytes, manifest.config.digest));
      } else if (options.raw) {
        process.stdout.write(await fetchBytes(target, await target.resolve()));
      } else {
        printJson(await inspectImage(target, { ...platform, tags: options.tags }));
      }
    } finally {
      await locations.close(target);
    }
  });
}
