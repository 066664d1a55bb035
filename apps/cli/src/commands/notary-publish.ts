import type { Command } from 'commander';
import { addNotaryKeyOptions, readNotaryKeys } from '../notary-keys.js';
import { printResult } from '../output.js';
import { openRepository } from '../registry-location.js';
import { addRegistryOptions } from '../registry-options.js';

/**
 * `concil notary-publish docker://host/repo:tag`: signs the tag's manifest (as the registry holds
 * it now) into the repository's Notary trust data, initialising the GUN on first use — what
 * `concil publish --notary` does after its push (signNotaryTag of @concil/trust).
 */
export function registerNotaryPublish(program: Command): void {
  const command = program
    .command('notary-publish')
    .description(
      "sign an image's tag in its Notary server (remote_servers.<host>.notary), as notary add + publish",
    )
    .argument('<image>', 'docker://host/repo:tag');
  addNotaryKeyOptions(command)
    .option('--json', 'print { gun, name, digest, size, role, initialized } as JSON')
    .option('--creds <user:pass>', 'credentials for the registry');
  addRegistryOptions(command).action(async (spec: string, options) => {
    const keys = await readNotaryKeys(options, command);
    const [target, { loadConfig }, { signNotaryTag }, { parseReference }] = await Promise.all([
      openRepository(spec, options, options.creds),
      import('@concil/store'),
      import('@concil/trust'),
      import('@concil/oci-spec'),
    ]);
    const { config } = await loadConfig();
    const ref = parseReference(spec);
    const manifest = await target.resolve();
    const { serverUrl, ...result } = await signNotaryTag(
      config,
      { registry: ref.registry, repository: ref.repository, tag: ref.tag ?? 'latest' },
      manifest,
      keys,
    );
    printResult(options.json, result, (r) => [
      `${r.initialized ? 'initialised and signed' : 'signed'} ${r.gun}:${r.name} → ${r.digest} (${r.size} bytes) in ${serverUrl} (${r.role})`,
    ]);
  });
}
