import { readFile } from 'node:fs/promises';
import type { NotaryKeyOptions } from '@concil/trust';
import type { Command } from 'commander';

export interface NotaryKeyFlags {
  rootCertificate?: string;
  rootKey?: string;
  passphraseFile?: string;
}

/** The options of the Notary keys, for `notary-publish` and `publish --notary`. */
export function addNotaryKeyOptions(command: Command): Command {
  return command
    .option(
      '--root-certificate <file>',
      'the root certificate to initialise a new GUN with (common name: host/repo)',
    )
    .option('--root-key <file>', 'the private key of --root-certificate (PEM)')
    .option(
      '--passphrase-file <file>',
      'the passphrase of the Notary keys under notary_path (else CONCIL_NOTARY_PASSPHRASE; without one, new keys are written unencrypted, mode 0600)',
    );
}

/** The Notary keys the flags name, read before anything is published. */
export async function readNotaryKeys(flags: NotaryKeyFlags, command: Command): Promise<NotaryKeyOptions> {
  if (Boolean(flags.rootCertificate) !== Boolean(flags.rootKey)) {
    command.error('concil: --root-certificate and --root-key go together');
  }
  const passphrase = flags.passphraseFile
    ? (await readFile(flags.passphraseFile, 'utf8')).split('\n')[0]
    : process.env.CONCIL_NOTARY_PASSPHRASE;
  return {
    ...(passphrase !== undefined && { passphrase }),
    ...(flags.rootCertificate &&
      flags.rootKey && {
        rootKey: {
          certificatePem: await readFile(flags.rootCertificate, 'utf8'),
          privateKeyPem: await readFile(flags.rootKey, 'utf8'),
          ...(passphrase !== undefined && { passphrase }),
        },
      }),
  };
}
