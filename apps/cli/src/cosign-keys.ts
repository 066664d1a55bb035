import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ConcilConfig } from '@concil/store';
import type { CosignKeyDirectory, PasswordSource } from '@concil/trust';

/** The key directory of the configuration (`cosign_path`, by default `~/.concil/cosign`). */
export async function openKeyDirectory(): Promise<CosignKeyDirectory> {
  const [{ loadConfig }, { CosignKeyDirectory }] = await Promise.all([
    import('@concil/store'),
    import('@concil/trust'),
  ]);
  const { config } = await loadConfig();
  return new CosignKeyDirectory(keyDirectoryPath(config));
}

/** Where the key directory is: `cosign_path`, by default `~/.concil/cosign`. */
export function keyDirectoryPath(config: Pick<ConcilConfig, 'cosign_path'>): string {
  return config.cosign_path ?? join(homedir(), '.concil', 'cosign');
}

/**
 * Where a key's password comes from: `--password-file`, else `COSIGN_PASSWORD`, else the terminal
 * (only when there is one). `confirm` asks twice, for a new key.
 */
export function passwordSource(passwordFile: string | undefined, confirm = false): PasswordSource {
  return {
    ...(passwordFile !== undefined && { passwordFile }),
    ...(process.stdin.isTTY && process.stderr.isTTY && { prompt: confirm ? askTwice : askHidden }),
  };
}

/** Asks on the terminal without echo (`read`, as the credential prompt; loaded only when asking). */
export async function askHidden(question: string): Promise<string> {
  const { read } = await import('read');
  const answer = await read({ input: process.stdin, output: process.stderr, prompt: question, silent: true });
  process.stderr.write('\n'); // the Enter that ended the password was not echoed either
  return answer;
}

async function askTwice(question: string): Promise<string> {
  const first = await askHidden(question);
  if ((await askHidden('Again:')) !== first) {
    const { TrustError } = await import('@concil/trust');
    throw new TrustError('KEY_PASSWORD_MISSING', 'the two passwords differ; run the command again');
  }
  return first;
}
