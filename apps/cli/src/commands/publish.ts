import type { Target } from '@concil/oci-spec';
import type { Command } from 'commander';
import { copySummary, openCopySource } from '../copy-source.js';
import { openKeyDirectory, passwordSource } from '../cosign-keys.js';
import { addSocketOption, withSocket } from '../daemon-socket.js';
import { interruptible } from '../interrupt.js';
import { openerOf } from '../locations.js';
import { addNotaryKeyOptions, readNotaryKeys } from '../notary-keys.js';
import { printJson } from '../output.js';
import { createCopyProgress } from '../progress.js';
import { addRegistryOptions, locationOptions } from '../registry-options.js';
import { shownLocation } from '../shown-location.js';
import { withYoungCollections } from '../young-collections.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

const PUBLISH_EXAMPLES = `
Examples:
  publish an image directory (every platform of an index) and sign it:
    concil publish --cosign-key team ./app docker://registry.example.com/app:1
  publish an image directory and sign its tag in the registry's Notary server:
    concil publish --notary ./app docker://registry.example.com/app:1
  publish an image of the local cache to another registry, its layers encrypted:
    concil publish --encryption team.pub.pem docker://mirror.example.com/app:1 docker://registry.example.com/app:1-enc`;

/** `concil publish IMAGE docker://…`: the copy into a registry, then a cosign and/or Notary signature. */
export function registerPublish(program: Command): void {
  const command = program
    .command('publish')
    .description(
      'publish an image to a registry: upload what it lacks (mounting from other repositories of the same registry), the manifests, then the tag; optionally encrypted and signed',
    )
    .argument(
      '<image>',
      'dir:PATH or PATH, oci:PATH[:tag], oci-archive:FILE[:tag], docker-archive:FILE[:name:tag], docker-daemon:NAME[:TAG], or docker://… (read from the local cache when it holds it)',
    )
    .argument('<destination>', 'docker://host/repo:tag')
    .option(
      '--platform <os/arch[/variant]>',
      'publish only this image of an index (default: the whole index)',
    )
    .option(
      '--cosign-key <id|file>',
      'sign the published image with this cosign key (ID of the key directory, or a file)',
    )
    .option('--password-file <file>', "the cosign key's password (else COSIGN_PASSWORD, else asked)")
    .option(
      '--notary',
      "sign the tag in the registry's Notary server (remote_servers.<host>.notary) after the push, as concil notary-publish does",
    )
    .option(
      '--encryption <public-key>',
      'encrypt every layer for this public key (PEM or JWK; "jwe:" prefix optional); repeat for more recipients',
      collect,
    )
    .option('--concurrency <n>', 'blobs in flight at once', (v) => Number.parseInt(v, 10), 4)
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'no progress display and no summary')
    .option('--no-cache', 'always read a registry image from the registry, not from the local cache')
    .option('--src-creds <user:pass>', 'credentials for the source registry')
    .option('--dest-creds <user:pass>', 'credentials for the destination registry')
    .addHelpText('after', PUBLISH_EXAMPLES);
  addNotaryKeyOptions(command);
  addSocketOption(command);
  addRegistryOptions(command).action(async (image: string, destination: string, options) => {
    const [{ openTarget, publish, readEncryptionKey }, locations, { parsePlatform }] = await Promise.all([
      import('@concil/image'),
      openerOf(image),
      import('@concil/oci-spec'),
    ]);
    const platform = options.platform ? parsePlatform(options.platform) : undefined;
    const dst = openTarget(destination, await locationOptions(destination, options, options.destCreds));
    // Keys are read before anything moves: a wrong path or password fails with nothing published.
    const encryption = await Promise.all(
      ((options.encryption as string[] | undefined) ?? []).map((path) =>
        readEncryptionKey(path.replace(/^jwe:/, '')),
      ),
    );
    const sign = options.cosignKey
      ? { key: await loadCosignKey(options.cosignKey, options.passwordFile) }
      : undefined;
    const notary = options.notary
      ? {
          config: (await (await import('@concil/store')).loadConfig()).config,
          ...(await readNotaryKeys(options, command)),
        }
      : undefined;
    const srcOptions = withSocket(await locationOptions(image, options, options.srcCreds), options);
    let opened: Target | undefined; // what the cache does not serve; a daemon's is closed at the end
    const src = await openCopySource(
      image,
      { platform, all: platform === undefined, cache: options.cache },
      srcOptions,
      () => (opened = locations.open(image, srcOptions)),
    );
    const progress = await createCopyProgress(process.stderr.isTTY && !options.quiet && !options.json);
    try {
      const result = await interruptible(`publishing stopped; ${dst.name} was not tagged`, (signal) =>
        publish(src, dst, {
          ...(platform && { platform }),
          concurrency: options.concurrency,
          ...(encryption.length && { encryption }),
          ...(sign && { sign }),
          ...(notary && { notary }),
          onProgress: withYoungCollections(progress.onProgress),
          signal,
        }),
      );
      progress.stop();
      if (options.json) {
        printJson({
          source: await shownLocation(image),
          destination: await shownLocation(destination),
          ...result,
        });
      } else if (!options.quiet) {
        const signed = result.signature ? `; signed with ${options.cosignKey} (${result.signature.tag})` : '';
        const notarized = result.notary
          ? `; signed ${result.notary.gun}:${result.notary.name} in ${result.notary.serverUrl} (${result.notary.role})`
          : '';
        process.stdout.write(`published ${copySummary(result, dst.name)}${signed}${notarized}\n`);
      }
    } finally {
      progress.stop();
      if (opened) await locations.close(opened);
    }
  });
}

async function loadCosignKey(spec: string, passwordFile: string | undefined) {
  const [directory, { loadSigningKey }] = await Promise.all([openKeyDirectory(), import('@concil/trust')]);
  return loadSigningKey(spec, directory, passwordSource(passwordFile));
}
