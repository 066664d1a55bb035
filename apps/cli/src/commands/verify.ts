import type { Command } from 'commander';
import { openKeyDirectory } from '../cosign-keys.js';
import { printResult } from '../output.js';
import { openRepository } from '../registry-location.js';
import { addRegistryOptions } from '../registry-options.js';

/**
 * `concil verify docker://… [--key ID|FILE]`: who signed the image (classic cosign signatures),
 * checked against the key given or every public key of the key directory. Exit 1 unless verified.
 */
export function registerVerify(program: Command): void {
  const command = program
    .command('verify')
    .description("verify an image's cosign signatures; exit 1 when it is unsigned or no signature is valid")
    .argument('<image>', 'docker://host/repo:tag or docker://host/repo@sha256:…')
    .option(
      '--key <id|file>',
      'trust this key (an ID of the key directory or a public key file); default: all of them',
    )
    .option(
      '--identity <host/repo>',
      "the repository the signatures must name (default: the image's own; give the original one for a copied image)",
    )
    .option('--json', 'print the verification as JSON')
    .option('--creds <user:pass>', 'credentials for the registry');
  addRegistryOptions(command).action(async (spec: string, options) => {
    const [target, directory, { loadTrustedKeys, TrustError, verifyImage }] = await Promise.all([
      openRepository(spec, options, options.creds),
      openKeyDirectory(),
      import('@concil/trust'),
    ]);
    const keys = await loadTrustedKeys(options.key, directory);
    if (keys.length === 0) {
      throw new TrustError(
        'KEY_NOT_FOUND',
        `no public keys in ${directory.path} to verify with; import one (concil config cosign-import-key ID FILE) or give --key`,
        directory.path,
      );
    }
    const manifest = await target.resolve();
    const result = await verifyImage(target, manifest, {
      keys,
      ...(options.identity && { identity: options.identity }),
    });
    const image = `${target.repositoryName}@${manifest.digest}`;
    printResult(options.json, { image, ...result }, (r) =>
      r.signed
        ? r.signatures.map((s) => `${s.valid ? 'valid' : `refused (${s.rejection})`}: ${image}: ${s.message}`)
        : [
            `unsigned: ${image}: no cosign signature under the tag ${r.tag}, no Sigstore bundle among its referrers`,
          ],
    );
    if (!result.verified) process.exitCode = 1;
  });
}
