import type { Command } from 'commander';
import { keyPassword } from '../encryption-options.js';
import { formatBytes } from '../format.js';
import { openLocalStore } from '../local-store.js';
import { printJson } from '../output.js';
import { createCopyProgress } from '../progress.js';
import { addRegistryOptions, targetOptions } from '../registry-options.js';
import { withYoungCollections } from '../young-collections.js';

/** `concil pull docker://…`: into the local cache, optionally converting layers to squashfs. */
export function registerPull(program: Command): void {
  const command = program
    .command('pull')
    .description('pull an image into the local cache and print what the cache holds for it')
    .argument('<image>', 'docker://host/repo[:tag][@digest]')
    .option('--platform <os/arch[/variant]>', 'which image of a multi-platform index (default: this machine)')
    .option('--squashfs', 'convert every layer to squashfs (zstd level 10) while it downloads')
    .option('--offline', 'use only what the cache holds; make no request')
    .option('--concurrency <n>', 'blobs in flight at once', (v) => Number.parseInt(v, 10), 4)
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'no progress display')
    .option('--creds <user:pass>', 'credentials for the registry')
    .option(
      '--decryption-key <private-key>',
      "decrypt encrypted layers with this private key (PEM or JWK), tried before the configuration's decryption_keys; repeatable",
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--key-password-file <file>', 'the password of encrypted private keys (else asked on a terminal)')
    .addHelpText(
      'after',
      `
Encrypted layers are decrypted as they download and kept only as their squashfs images; the keys
are those given with --decryption-key, then the configuration's "decryption_keys" (a list of files).`,
    )
    .action(async (image: string, options) => {
      const [store, progress] = await Promise.all([
        openLocalStore(),
        createCopyProgress(process.stderr.isTTY && !options.quiet && !options.json),
      ]);
      const password = keyPassword(options.keyPasswordFile);
      try {
        const pulled = await store.pull(image, {
          ...(options.platform && { platform: options.platform }),
          squashfs: options.squashfs === true,
          offline: options.offline === true,
          concurrency: options.concurrency,
          ...(options.decryptionKey && { decryptionKeys: options.decryptionKey }),
          ...(password && { keyPassword: password }),
          // The store reaches the registry as the configuration says, these flags over it.
          registry: targetOptions(options, options.creds).registry ?? {},
          onProgress: withYoungCollections(progress.onProgress),
        });
        progress.stop();
        if (options.json) {
          const { manifest: _manifest, config: _config, ...rest } = pulled;
          printJson(rest);
          return;
        }
        const lines = [
          `${pulled.reference} ${pulled.manifestDescriptor.digest}${pulled.fromCache ? ' (cached)' : ` (fetched ${pulled.blobsCopied} blobs, ${formatBytes(pulled.bytesCopied)})`}`,
          `config  ${pulled.configPath}`,
          ...pulled.layers.map(
            (layer) =>
              `layer   ${layer.descriptor.digest.slice(0, 19)}  ${formatBytes(layer.descriptor.size).padStart(9)}  ${layer.squashfsPath ?? layer.path}`,
          ),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      } finally {
        progress.stop();
      }
    });
  addRegistryOptions(command);
}
