import type { Command } from 'commander';
import { printResult } from '../output.js';
import { openRepository } from '../registry-location.js';
import { addRegistryOptions } from '../registry-options.js';

/** `concil delete`: a manifest, by digest; a tag is resolved to its digest first, as crane does. */
export function registerDelete(program: Command): void {
  const command = program
    .command('delete')
    .description(
      'delete a manifest from a registry, with every tag pointing at it (a tag is resolved to its digest first)',
    )
    .argument('<image>', 'docker://host/repo@sha256:… or docker://host/repo:tag')
    .option('--json', 'print { deleted, descriptor } as JSON')
    .option('--creds <user:pass>', 'credentials for the registry');
  addRegistryOptions(command).action(async (spec: string, options) => {
    const target = await openRepository(spec, options, options.creds);
    const descriptor = await target.resolve();
    await target.delete(descriptor);
    const deleted = `${target.repositoryName}@${descriptor.digest}`;
    printResult(options.json, { deleted, descriptor }, () => [`deleted ${deleted}`]);
  });
}
