import { spawn } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';
import { cliEnvironment, concilLauncher } from './run-cli.js';

export interface TerminalAnswer {
  /** Typed once the screen shows this (after what earlier answers waited for). */
  when: RegExp;
  type: string;
}

export interface TerminalResult {
  code: number;
  /** What the terminal showed, stdout and stderr together, without the cursor's escape codes. */
  screen: string;
}

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/**
 * Runs the built `concil` on a real pseudo-terminal (util-linux `script`), typing each answer
 * when its prompt appears, as a person at a terminal would.
 */
export async function runInTerminal(
  args: string[],
  answers: TerminalAnswer[] = [],
  env: Record<string, string> = {},
): Promise<TerminalResult> {
  const command = [concilLauncher, ...args].map(quote).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: { ...(await cliEnvironment()), TERM: 'xterm', ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let screen = '';
  let seen = 0;
  const pending = [...answers];
  child.stdout.on('data', (chunk: Buffer) => {
    screen += chunk.toString('utf8');
    for (let next = pending[0]; next; next = pending[0]) {
      const match = next.when.exec(screen.slice(seen));
      if (!match) break;
      pending.shift();
      seen += match.index + match[0].length;
      child.stdin.write(next.type);
    }
  });
  // A prompt nobody answers would wait for ever: end the terminal (its command gets SIGHUP).
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number>((resolve) => child.on('close', (status) => resolve(status ?? 1)));
  clearTimeout(timer);
  return { code, screen: stripVTControlCharacters(screen) };
}
