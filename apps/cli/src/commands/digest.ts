import type { Command } from 'commander';
import { addSocketOption, withSocket } from '../daemon-socket.js';
import { openerOf } from '../locations.js';
import { printResult } from '../output.js';
import { addRegistryOptions, targetOptions } from '../registry-options.js';
import { shownLocation } from '../shown-location.js';

/** `concil digest`: the manifest digest, as `crane digest` and `skopeo inspect --format {{.Digest}}`. */
export function registerDigest(program: Command): void {
  const command = program
    .command('digest')
    .description("print the digest of an image's manifest (of the index, for a multi-platform image)")
    .argument(
      '<image>',
      'docker://host/repo[:tag][@digest], dir:PATH or PATH, oci:PATH[:tag], any location concil copy reads',
    )
    .option('--platform <os/arch[/variant]>', "the digest of this platform's manifest in an index instead")
    .option('--json', 'print the descriptor as JSON')
    .option('--creds <user:pass>', 'credentials for the registry');
  addRegistryOptions(addSocketOption(command)).action(async (spec: string, options) => {
    const [{ readImageManifest }, { parsePlatform }, locations] = await Promise.all([
      import('@concil/image'),
      import('@concil/oci-spec'),
      openerOf(spec),
    ]);
    const target = locations.open(spec, withSocket(targetOptions(options, options.creds), options));
    const descriptor = await (options.platform
      ? readImageManifest(target, { platform: parsePlatform(options.platform) }).then((m) => m.descriptor)
      : target.resolve()
    ).finally(() => locations.close(target));
    printResult(options.json, { image: await shownLocation(spec), descriptor }, () => [descriptor.digest]);
  });
}
