import type { Command } from 'commander';
import { printResult } from '../output.js';
import { pageSize } from '../page-size.js';
import { openRegistry } from '../registry-location.js';
import { addRegistryOptions } from '../registry-options.js';

/** `concil catalog docker://HOST`: every repository of a registry, page after page. */
export function registerCatalog(program: Command): void {
  const command = program
    .command('catalog')
    .description('list every repository of a registry, one per line (/v2/_catalog)')
    .argument('<registry>', 'docker://host[:port]')
    .option(
      '--page-size <n>',
      'repositories asked for per request (default: what the registry chooses)',
      pageSize,
    )
    .option('--json', 'print { registry, repositories } as JSON')
    .option('--creds <user:pass>', 'credentials for the registry');
  addRegistryOptions(command).action(async (spec: string, options) => {
    const client = await openRegistry(spec, options, options.creds);
    try {
      const repositories = await client.listRepositories({ pageSize: options.pageSize });
      printResult(options.json, { registry: client.registry, repositories }, () => repositories);
    } finally {
      await client.close();
    }
  });
}
