import type { Command } from 'commander';
import { printJson } from '../output.js';
import { pageSize } from '../page-size.js';
import { openRepository } from '../registry-location.js';
import { addRegistryOptions } from '../registry-options.js';

/** `concil tags docker://REPO`: every tag, page after page (`Link` headers). */
export function registerTags(program: Command): void {
  const command = program
    .command('tags')
    .description('list every tag of a registry repository, one per line')
    .argument('<repository>', 'docker://host/repo')
    .option('--page-size <n>', 'tags asked for per request (default: what the registry chooses)', pageSize)
    .option('--json', 'print { registry, repository, tags } as JSON')
    .option('--creds <user:pass>', 'credentials for the registry');
  addRegistryOptions(command).action(async (spec: string, options) => {
    const target = await openRepository(spec, options, options.creds);
    const pages = target.client.tagPages(target.repository, { pageSize: options.pageSize });
    if (options.json) {
      const tags: string[] = [];
      for await (const page of pages) tags.push(...page);
      printJson({ registry: target.registry, repository: target.repository, tags });
      return;
    }
    // Each page as it comes: a repository with thousands of tags starts printing at once.
    for await (const page of pages) if (page.length > 0) process.stdout.write(`${page.join('\n')}\n`);
  });
}
