import {
  copy,
  decryptLayers,
  encryptLayers,
  OciLayout,
  readDecryptionKey,
  readEncryptionKey,
} from '@concil/image';

// Encrypt every layer for a public key (PEM or JWK), then decrypt the copy with the private key.
export async function example(
  src: string,
  encrypted: string,
  plain: string,
  keys: { pub: string; priv: string },
) {
  const recipients = [await readEncryptionKey(keys.pub)];
  await copy(new OciLayout(src, 'v1'), new OciLayout(encrypted, 'v1'), { edit: encryptLayers(recipients) });
  const privateKeys = [
    await readDecryptionKey(keys.priv, { password: async () => 'asked only if the key is locked' }),
  ];
  return copy(new OciLayout(encrypted, 'v1'), new OciLayout(plain, 'v1'), {
    edit: decryptLayers(privateKeys),
  });
}
