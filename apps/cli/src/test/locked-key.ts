import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * An RSA private key locked with the password "sesame" (`rsa.pem`, by openssl as people make
 * them), its public key (`rsa.pub.pem`) and a password file (`password`), in `dir`.
 */
export async function writeLockedRsaKey(
  dir: string,
): Promise<{ priv: string; pub: string; password: string }> {
  const files = {
    priv: join(dir, 'rsa.pem'),
    pub: join(dir, 'rsa.pub.pem'),
    password: join(dir, 'password'),
  };
  await run('openssl', [
    'genpkey',
    '-algorithm',
    'RSA',
    '-pkeyopt',
    'rsa_keygen_bits:2048',
    '-aes-256-cbc',
    '-pass',
    'pass:sesame',
    '-out',
    files.priv,
  ]);
  await run('openssl', ['pkey', '-in', files.priv, '-passin', 'pass:sesame', '-pubout', '-out', files.pub]);
  await writeFile(files.password, 'sesame\n');
  return files;
}
