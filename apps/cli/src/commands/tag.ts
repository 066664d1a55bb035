import type { Command } from 'commander';
import { printResult } from '../output.js';
import { openRepository } from '../registry-location.js';
import { addRegistryOptions } from '../registry-options.js';

/** `concil tag docker://REPO:SRC NEW…`: the same manifest under more tags, no blob moved (crane tag). */
export function registerTag(program: Command): void {
  const command = program
    .command('tag')
    .description('add tags to a manifest in a registry, moving no blob')
    .argument('<image>', 'docker://host/repo:tag or docker://host/repo@sha256:…')
    .argument('<tags...>', 'new tags in the same repository')
    .option('--json', 'print { source, descriptor, tagged } as JSON')
    .option('--creds <user:pass>', 'credentials for the registry');
  addRegistryOptions(command).action(async (spec: string, tags: string[], options) => {
    const [target, { isTag, OciSpecError }] = await Promise.all([
      openRepository(spec, options, options.creds),
      import('@concil/oci-spec'),
    ]);
    for (const tag of tags) {
      if (!isTag(tag)) {
        throw new OciSpecError(
          'REFERENCE_INVALID',
          `"${tag}" is not a valid tag: a letter, digit or _, then up to 127 of letters, digits, _ . -`,
          tag,
        );
      }
    }
    const descriptor = await target.resolve();
    const tagged: string[] = [];
    for (const tag of tags) {
      await target.tag(descriptor, tag);
      tagged.push(`${target.repositoryName}:${tag}`);
    }
    printResult(
      options.json,
      { source: `${target.repositoryName}@${descriptor.digest}`, descriptor, tagged },
      () => tagged.map((each) => `tagged ${each} (${descriptor.digest})`),
    );
  });
}
