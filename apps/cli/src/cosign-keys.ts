import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { CosignKeyDirectory, PasswordSource } from '@concil/trust';

/** The key directory of the configuration (`cosign_path`, by default `~/.concil/cosign`). */
export async function openKeyDirectory(): Promise<CosignKeyDirectory> {
  const [{ loadConfig }, { CosignKeyDirectory }] = await Promise.all([
    import('@concil/store'),
    import('@concil/trust'),
  ]);
  const { config } = await loadConfig();
  return new CosignKeyDirectory(config.cosign_path ?? join(homedir(), '.concil', 'cosign'));
}

/**
 * Where a key's password comes from: `--password-file`, else `COSIGN_PASSWORD`, else the terminal
 * (only when there is one). `confirm` asks twice, for a new key.
 */
export function passwordSource(passwordFile: string | undefined, confirm = false): PasswordSource {
  return {
    ...(passwordFile !== undefined && { passwordFile }),
    ...(process.stdin.isTTY && process.stderr.isTTY && { prompt: confirm ? askTwice : askPassword }),
  };
}

/** Asks on the terminal without echo. */
async function askPassword(question: string): Promise<string> {
  const terminal = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try {
    const output = terminal as unknown as { _writeToOutput: (text: string) => void };
    const write = output._writeToOutput.bind(terminal);
    process.stderr.write(question);
    output._writeToOutput = () => {};
    const password = await terminal.question('');
    output._writeToOutput = write;
    process.stderr.write('\n');
    return password;
  } finally {
    terminal.close();
  }
}

async function askTwice(question: string): Promise<string> {
  const first = await askPassword(question);
  if ((await askPassword('Again: ')) !== first) {
    const { TrustError } = await import('@concil/trust');
    throw new TrustError('KEY_PASSWORD_MISSING', 'the two passwords differ; run the command again');
  }
  return first;
}
