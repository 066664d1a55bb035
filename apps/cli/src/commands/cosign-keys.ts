import type { Command } from 'commander';
import { openKeyDirectory, passwordSource } from '../cosign-keys.js';
import { printResult } from '../output.js';

/**
 * `concil config cosign-generate-key|cosign-list-keys|cosign-export-key|cosign-import-key`: the
 * named cosign keys of the key directory (`cosign_path`), as the Python concil's commands.
 */
export function registerCosignKeyCommands(config: Command): void {
  config
    .command('cosign-generate-key')
    .description('generate an ECDSA P-256 cosign key pair ID.key/ID.pub in the key directory')
    .argument('<id>', 'the name of the key')
    .option('--password-file <file>', "the new key's password (else COSIGN_PASSWORD, else asked twice)")
    .option('--json', 'print { id, fingerprint, privateKey, publicKey } as JSON')
    .action(async (id: string, options: { passwordFile?: string; json?: boolean }) => {
      const directory = await openKeyDirectory();
      const entry = await directory.generate(id, passwordSource(options.passwordFile, true));
      const result = {
        id,
        fingerprint: entry.fingerprint,
        privateKey: directory.privateKeyPath(id),
        publicKey: directory.publicKeyPath(id),
      };
      printResult(options.json, result, (r) => [
        `generated ${r.id} (${r.fingerprint}): ${r.privateKey}, ${r.publicKey}`,
      ]);
    });

  config
    .command('cosign-list-keys')
    .description('list the keys of the key directory: ID, fingerprint, whether the private key is there')
    .option('--json', 'print { directory, keys } as JSON')
    .action(async (options: { json?: boolean }) => {
      const directory = await openKeyDirectory();
      const keys = await directory.list();
      printResult(options.json, { directory: directory.path, keys }, () =>
        keys.length === 0
          ? [`no keys in ${directory.path}`]
          : keys.map((k) => `${k.id}\t${k.fingerprint}\t${k.hasPrivateKey ? 'private+public' : 'public'}`),
      );
    });

  config
    .command('cosign-export-key')
    .description(
      'write a key of the key directory to FILE: the public key, or the private one with --private',
    )
    .argument('<id>', 'the name of the key')
    .argument('<file>', 'where to write it')
    .option('--private', 'the encrypted private key instead of the public key')
    .option('--json', 'print { id, file, private } as JSON')
    .action(async (id: string, file: string, options: { private?: boolean; json?: boolean }) => {
      const directory = await openKeyDirectory();
      const exported = { id, file, private: options.private === true };
      await directory.export(id, file, { private: exported.private });
      printResult(options.json, exported, (e) => [
        `exported the ${e.private ? 'private' : 'public'} key ${e.id} to ${e.file}`,
      ]);
    });

  config
    .command('cosign-import-key')
    .description(
      'import a key file under ID: a public key (to trust), a cosign private key, or a PKCS#8/EC private key (sealed with a password)',
    )
    .argument('<id>', 'the name to keep it under')
    .argument('<file>', 'the key file (PEM)')
    .option('--password-file <file>', "the key's password (else COSIGN_PASSWORD, else asked)")
    .option('--json', 'print { id, fingerprint, hasPrivateKey } as JSON')
    .action(async (id: string, file: string, options: { passwordFile?: string; json?: boolean }) => {
      const directory = await openKeyDirectory();
      const entry = await directory.import(id, file, passwordSource(options.passwordFile));
      printResult(options.json, entry, (e) => [
        `imported ${e.id} (${e.fingerprint}, ${e.hasPrivateKey ? 'private and public key' : 'public key'})`,
      ]);
    });
}
