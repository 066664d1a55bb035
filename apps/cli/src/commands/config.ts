import type { Command } from 'commander';
import { printJson, printResult } from '../output.js';
import { registerCosignKeyCommands } from './cosign-keys.js';

/** `concil config show|path`: the configuration in force, and where it is read from. */
export function registerConfig(program: Command): void {
  const config = program
    .command('config')
    .description('the configuration (~/.concil/config.json, or the file CONCIL_CONFIG names)');

  config
    .command('show')
    .description('print the configuration in force, defaults filled in, secrets in auths masked')
    .option('--json', 'print it as JSON (the default format is JSON too, with the file named first)')
    .action(async (options: { json?: boolean }) => {
      const { loadConfig, maskedConfig } = await import('@concil/store');
      const loaded = await loadConfig();
      const shown = maskedConfig(loaded.config);
      if (options.json) {
        printJson({ path: loaded.path, exists: loaded.exists, config: shown });
        return;
      }
      process.stdout.write(`# ${loaded.path}${loaded.exists ? '' : ' (absent: defaults)'}\n`);
      printJson(shown);
    });

  config
    .command('generate-encryption-key')
    .description(
      'make an EC P-521 key pair for layer encryption: NAME.pem (private) and NAME.pub.pem in keys/ beside the configuration',
    )
    .argument('<name>', 'the name of the key pair')
    .option('--json', 'print the paths as JSON')
    .action(async (name: string, options: { json?: boolean }) => {
      const [{ configPath }, { generateEncryptionKey }, { dirname, join }] = await Promise.all([
        import('@concil/store'),
        import('@concil/image'),
        import('node:path'),
      ]);
      const paths = await generateEncryptionKey(join(dirname(configPath()), 'keys'), name);
      printResult(options.json, paths, () => [
        `private key: ${paths.privateKey}`,
        `public key:  ${paths.publicKey} (give this one to whoever encrypts for you: concil copy --encryption ${paths.publicKey} …)`,
      ]);
    });

  config
    .command('path')
    .description('print where the configuration is read from')
    .option('--json', 'print it as JSON')
    .action(async (options: { json?: boolean }) => {
      const { loadConfig } = await import('@concil/store');
      const { path, exists } = await loadConfig();
      printResult(options.json, { path, exists }, () => [path]);
    });

  registerCosignKeyCommands(config);
}
