import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { printResult } from '../output.js';
import { openRepository } from '../registry-location.js';
import { addRegistryOptions } from '../registry-options.js';

/**
 * `concil notary-publish docker://host/repo:tag`: signs the tag's manifest (as the registry holds
 * it now) into the repository's Notary trust data, initialising the GUN on first use. Plumbing
 * until `concil publish` signs with Notary after its push (publishNotaryTarget of @concil/trust).
 */
export function registerNotaryPublish(program: Command): void {
  const command = program
    .command('notary-publish')
    .description(
      "sign an image's tag in its Notary server (remote_servers.<host>.notary), as notary add + publish",
    )
    .argument('<image>', 'docker://host/repo:tag')
    .option(
      '--root-certificate <file>',
      'the root certificate to initialise a new GUN with (common name: host/repo)',
    )
    .option('--root-key <file>', 'the private key of --root-certificate (PEM)')
    .option(
      '--passphrase-file <file>',
      'the passphrase of the keys under notary_path (else CONCIL_NOTARY_PASSPHRASE; without one, new keys are written unencrypted, mode 0600)',
    )
    .option('--json', 'print { gun, name, digest, size, role, initialized } as JSON')
    .option('--creds <user:pass>', 'credentials for the registry');
  addRegistryOptions(command).action(async (spec: string, options) => {
    if (Boolean(options.rootCertificate) !== Boolean(options.rootKey)) {
      command.error('concil: --root-certificate and --root-key go together');
    }
    const [target, { loadConfig }, trust, { parseReference }] = await Promise.all([
      openRepository(spec, options, options.creds),
      import('@concil/store'),
      import('@concil/trust'),
      import('@concil/oci-spec'),
    ]);
    const { config } = await loadConfig();
    const ref = parseReference(spec);
    const passphrase = options.passphraseFile
      ? (await readFile(options.passphraseFile, 'utf8')).split('\n')[0]
      : process.env.CONCIL_NOTARY_PASSPHRASE;
    const manifest = await target.resolve();
    const serverUrl = trust.requireNotaryServer(config, ref.registry);
    const result = await trust.publishNotaryTarget({
      serverUrl,
      ...(config.cafile && { caFile: config.cafile }),
      credentials: trust.notaryCredentials(config, ref.registry),
      trustDir: trust.notaryTrustDir(config),
      pinning: config.notary_trust_pinning,
      gun: `${ref.registry}/${ref.repository}`,
      tag: ref.tag ?? 'latest',
      digest: manifest.digest,
      size: manifest.size,
      ...(passphrase !== undefined && { passphrase }),
      ...(options.rootCertificate && {
        rootKey: {
          certificatePem: await readFile(options.rootCertificate, 'utf8'),
          privateKeyPem: await readFile(options.rootKey, 'utf8'),
          ...(passphrase !== undefined && { passphrase }),
        },
      }),
    });
    printResult(options.json, result, (r) => [
      `${r.initialized ? 'initialised and signed' : 'signed'} ${r.gun}:${r.name} → ${r.digest} (${r.size} bytes) in ${serverUrl} (${r.role})`,
    ]);
  });
}
