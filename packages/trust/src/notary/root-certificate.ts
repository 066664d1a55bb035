import { KeyObject, randomBytes, webcrypto } from 'node:crypto';

/**
 * A root key as notary makes one for `notary init`: EC P-256 and a self-signed certificate whose
 * common name is the GUN (what clients check), valid ten years, for code signing, not a CA.
 */
export async function generateRootKey(
  gun: string,
  now: number,
): Promise<{ privateKey: KeyObject; certificatePem: string }> {
  // @peculiar/x509 needs the Reflect metadata polyfill; both load only when a GUN is initialised.
  await import('reflect-metadata');
  const loaded = await import('@peculiar/x509');
  // Bundled (the CLI), the CommonJS build may come as the default export only.
  const x509 =
    'cryptoProvider' in loaded ? loaded : (loaded as unknown as { default: typeof loaded }).default;
  x509.cryptoProvider.set(webcrypto as never);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16)
      .toString('hex')
      .replace(/^[89a-f]/, '1'),
    name: [{ CN: [gun] }],
    notBefore: new Date(now),
    notAfter: new Date(now + 10 * 365 * 24 * 3600 * 1000),
    signingAlgorithm: algorithm,
    keys: keys as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning], true),
    ],
  });
  return { privateKey: KeyObject.from(keys.privateKey), certificatePem: certificate.toString('pem') };
}
