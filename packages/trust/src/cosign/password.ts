import { readFile } from 'node:fs/promises';
import { TrustError } from '../errors.js';

/** Where the password of an encrypted private key comes from, tried in this order. */
export interface PasswordSource {
  /** A password given directly (a program that holds it already). */
  password?: string;
  /** A file whose first line is the password. */
  passwordFile?: string;
  /** The environment whose `COSIGN_PASSWORD` holds it (as cosign reads it); `process.env` by default. */
  env?: NodeJS.ProcessEnv;
  /** Asks a person (the CLI's TTY prompt); `question` names the key. */
  prompt?: (question: string) => Promise<string>;
}

/** The password for `subject` (a key's name or path); `KEY_PASSWORD_MISSING` when no source has one. */
export async function resolvePassword(source: PasswordSource, subject: string): Promise<string> {
  if (source.password !== undefined) return source.password;
  if (source.passwordFile !== undefined) {
    let text: string;
    try {
      text = await readFile(source.passwordFile, 'utf8');
    } catch (error) {
      throw new TrustError(
        'KEY_PASSWORD_MISSING',
        `${source.passwordFile}: cannot read the password file (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
        source.passwordFile,
        { cause: error },
      );
    }
    return text.split(/\r?\n/, 1)[0] ?? '';
  }
  const fromEnv = (source.env ?? process.env).COSIGN_PASSWORD;
  if (fromEnv !== undefined) return fromEnv;
  if (source.prompt) return source.prompt(`Password for ${subject}:`);
  throw new TrustError(
    'KEY_PASSWORD_MISSING',
    `${subject}: the private key is encrypted and no password was given; set COSIGN_PASSWORD or give a password file`,
    subject,
  );
}
