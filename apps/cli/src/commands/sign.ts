import type { Command } from 'commander';
import { openKeyDirectory, passwordSource } from '../cosign-keys.js';
import { printResult } from '../output.js';
import { openRepository } from '../registry-location.js';
import { addRegistryOptions } from '../registry-options.js';

/** `concil sign docker://…@digest|:tag --key ID|FILE`: a classic cosign signature, attached. */
export function registerSign(program: Command): void {
  const command = program
    .command('sign')
    .description(
      'sign an image in a registry with a cosign key (a classic signature under sha256-<hex>.sig, or --bundle)',
    )
    .argument('<image>', 'docker://host/repo:tag or docker://host/repo@sha256:…')
    .requiredOption('--key <id|file>', 'a key ID of the key directory (cosign_path) or a private key file')
    .option('--password-file <file>', "the key's password (else COSIGN_PASSWORD, else asked)")
    .option('-a, --annotation <key=value...>', "annotations for the payload's optional part")
    .option(
      '--bundle',
      "a Sigstore bundle attached as a referrer of the image (cosign 3's default) instead of a classic signature",
    )
    .option(
      '--json',
      'print { image, tag, signatureManifest, signatures } (with --bundle: { image, referrer, bundle }) as JSON',
    )
    .option('--creds <user:pass>', 'credentials for the registry');
  addRegistryOptions(command).action(async (spec: string, options) => {
    const [target, directory, { loadSigningKey, signImage, signImageBundle }] = await Promise.all([
      openRepository(spec, options, options.creds),
      openKeyDirectory(),
      import('@concil/trust'),
    ]);
    const key = await loadSigningKey(options.key, directory, passwordSource(options.passwordFile));
    const manifest = await target.resolve();
    const annotations = options.annotation && parseAnnotations(options.annotation, command);
    const image = `${target.repositoryName}@${manifest.digest}`;
    if (options.bundle) {
      const signed = await signImageBundle(target, manifest, { key, ...(annotations && { annotations }) });
      printResult(options.json, { image, referrer: signed.referrer, bundle: signed.bundle }, (r) => [
        `signed ${r.image} with ${options.key} (a Sigstore bundle, referrer ${r.referrer.digest})`,
      ]);
      return;
    }
    const signed = await signImage(target, manifest, { key, ...(annotations && { annotations }) });
    printResult(
      options.json,
      {
        image,
        tag: signed.tag,
        signatureManifest: signed.signatureManifest,
        signatures: signed.signatureCount,
      },
      (r) => [
        `signed ${r.image} with ${options.key} (${target.repositoryName}:${r.tag}, ${r.signatures} signatures)`,
      ],
    );
  });
}

function parseAnnotations(pairs: string[], command: Command): Record<string, string> {
  const annotations: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) command.error(`concil: "${pair}" is no annotation: write KEY=VALUE`);
    annotations[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return annotations;
}
