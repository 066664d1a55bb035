import { readFile } from 'node:fs/promises';
import type { ImageEditor } from '@concil/image';
import { type Command, Option } from 'commander';
import { askHidden } from './cosign-keys.js';

export interface EncryptionFlags {
  encryption?: string[];
  encryptLayer?: number[];
  decryptionKey?: string[];
  addRecipient?: string[];
  keyPasswordFile?: string;
}

const collect =
  <T>(parse: (value: string) => T) =>
  (value: string, previous: T[] | undefined) => [...(previous ?? []), parse(value)];

export const ENCRYPTION_EXAMPLES = `
Encryption (OCI image encryption, as skopeo and containerd read it):
  convert and encrypt:  concil copy --squashfs --encryption team.pub.pem oci:app:1 docker://registry.example.com/app:1-enc
  decrypt:              concil copy --decryption-key team.pem docker://registry.example.com/app:1-enc oci:app:1
  add a recipient:      concil copy --add-recipient ops.pub.pem --decryption-key team.pem oci:app:1-enc oci:app:1-enc2`;

/** `concil copy`'s flags for layer encryption and decryption. */
export function addEncryptionOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--encryption <public-key>',
        'encrypt layers for this public key (PEM or JWK, RSA or EC; "jwe:" prefix optional); repeat for more recipients',
      )
        .argParser(collect((value: string) => value.replace(/^jwe:/, '')))
        .conflicts('decryptionKey'),
    )
    .addOption(
      new Option(
        '--encrypt-layer <n>',
        'encrypt only this layer (0 is the base, -1 the top); repeatable',
      ).argParser(collect((value: string) => Number.parseInt(value, 10))),
    )
    .addOption(
      new Option(
        '--decryption-key <private-key>',
        'decrypt the encrypted layers with this private key (PEM or JWK); repeatable, the first that opens a layer is used',
      ).argParser(collect((value: string) => value)),
    )
    .addOption(
      new Option(
        '--add-recipient <public-key>',
        'let this public key open the encrypted layers too, without re-encrypting them (needs --decryption-key); repeatable',
      )
        .argParser(collect((value: string) => value.replace(/^jwe:/, '')))
        .conflicts('encryption'),
    )
    .addOption(
      new Option(
        '--key-password-file <file>',
        'the password of encrypted private keys (else asked on a terminal)',
      ),
    );
}

/**
 * The edit the encryption flags ask for, around the conversion `after`, in the same pass:
 * encrypting converts first, decrypting converts the decrypted layers; undefined when they ask
 * for none.
 */
export async function encryptionEdit(
  flags: EncryptionFlags,
  after: ImageEditor | undefined,
): Promise<ImageEditor | undefined> {
  const image = await import('@concil/image');
  if (flags.encryption?.length) {
    const recipients = await Promise.all(flags.encryption.map((path) => image.readEncryptionKey(path)));
    return image.encryptLayers(recipients, {
      ...(flags.encryptLayer && { layers: flags.encryptLayer }),
      ...(after && { after }),
    });
  }
  if (flags.encryptLayer) {
    throw new image.ImageError(
      'PLAN_INVALID',
      '--encrypt-layer chooses layers to encrypt: give --encryption too',
    );
  }
  if (!flags.decryptionKey?.length) {
    if (!flags.addRecipient) return undefined;
    throw new image.ImageError(
      'PLAN_INVALID',
      '--add-recipient needs --decryption-key: a private key that opens the layers now',
    );
  }
  const password = keyPassword(flags.keyPasswordFile);
  const keys = [];
  for (const path of flags.decryptionKey) {
    keys.push(await image.readDecryptionKey(path, { ...(password && { password: () => password(path) }) }));
  }
  if (flags.addRecipient?.length) {
    const recipients = await Promise.all(flags.addRecipient.map((path) => image.readEncryptionKey(path)));
    return image.addRecipients(recipients, keys, { ...(after && { after }) });
  }
  return image.decryptLayers(keys, { ...(after && { followedBy: after }) });
}

/**
 * Where the password of an encrypted private key comes from: the file given, else asked on a
 * terminal; undefined without either (the key then says it needs one).
 */
export function keyPassword(file: string | undefined): ((path: string) => Promise<string>) | undefined {
  if (file) return passwordFromFile(file);
  if (process.stdin.isTTY && process.stderr.isTTY) return (path) => askHidden(`Password for ${path}:`);
  return undefined;
}

/** The password file's first line (a trailing newline is not part of the password). */
function passwordFromFile(file: string) {
  return async () => (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
}
