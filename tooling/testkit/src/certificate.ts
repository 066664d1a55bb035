import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A self-signed EC certificate and key made with openssl: `name` names the files and, unless
 * `commonName` is given, the subject (`concil-testkit-<name>`); each extension is an `-addext`.
 */
export async function selfSignedCertificate(
  dir: string,
  name: string,
  extension?: string | string[],
  commonName = `concil-testkit-${name}`,
): Promise<{ certPath: string; keyPath: string }> {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${commonName.replaceAll('/', '\\/')}`,
    ...[extension ?? []].flat().flatMap((each) => ['-addext', each]),
    '-keyout',
    keyPath,
    '-out',
    certPath,
  ]);
  return { certPath, keyPath };
}

/**
 * A test certificate authority (a self-signed CA certificate), and `issue(name, sans)` for leaf
 * certificates it signs, with the names in the SAN and usable as TLS server and client.
 */
export interface TestCertificateAuthority {
  certPath: string;
  keyPath: string;
  /** A leaf named `name` (files) with `commonName` (default `concil-testkit-<name>`). */
  issue(
    name: string,
    subjectAltName?: string,
    commonName?: string,
  ): Promise<{ certPath: string; keyPath: string }>;
}

export async function certificateAuthority(dir: string, name = 'ca'): Promise<TestCertificateAuthority> {
  const ca = await selfSignedCertificate(dir, name, 'basicConstraints=critical,CA:TRUE');
  const issue = async (
    leaf: string,
    subjectAltName = 'IP:127.0.0.1,DNS:localhost',
    commonName = `concil-testkit-${leaf}`,
  ) => {
    const certPath = join(dir, `${leaf}.crt`);
    const keyPath = join(dir, `${leaf}.key`);
    const csrPath = join(dir, `${leaf}.csr`);
    const extPath = join(dir, `${leaf}.ext`);
    await run('openssl', [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      `/CN=${commonName.replaceAll('/', '\\/')}`,
      '-keyout',
      keyPath,
      '-out',
      csrPath,
    ]);
    await writeFile(
      extPath,
      `subjectAltName=${subjectAltName}\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n`,
    );
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      csrPath,
      '-CA',
      ca.certPath,
      '-CAkey',
      ca.keyPath,
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      extPath,
      '-out',
      certPath,
    ]);
    return { certPath, keyPath };
  };
  return { ...ca, issue };
}
