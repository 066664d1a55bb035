import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const main = join(import.meta.dirname, '..', '..', 'dist', 'main.js');
/** The built command's entry script. */
export const cliScript = main;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

let home: Promise<string> | undefined;

/** The environment the CLI runs in: a HOME of its own (no stray credentials), its config there. */
export async function cliEnvironment(): Promise<Record<string, string | undefined>> {
  home ??= mkdtemp(join(tmpdir(), 'concil-cli-home-'));
  const HOME = await home;
  return { PATH: process.env.PATH, HOME, CONCIL_CONFIG: join(HOME, 'config.json') };
}

/**
 * Runs the built `concil` as a person would, with a HOME of its own (no stray credentials).
 * `fileSizeLimitKiB`: under `ulimit -f`, so that writing more fails as on a full disk (EFBIG).
 * `input`: written to its standard input, which is then closed.
 * `cwd`: the working directory (by default the test's).
 */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
  { fileSizeLimitKiB, input, cwd }: { fileSizeLimitKiB?: number; input?: string; cwd?: string } = {},
): Promise<CliResult> {
  const [command, commandArgs] =
    fileSizeLimitKiB === undefined
      ? [process.execPath, [main, ...args]]
      : ['bash', ['-c', `ulimit -f ${fileSizeLimitKiB} && exec "$0" "$@"`, process.execPath, main, ...args]];
  const environment = { ...(await cliEnvironment()), ...env };
  return new Promise((resolve) => {
    const child = execFile(
      command,
      commandArgs,
      {
        env: environment,
        maxBuffer: 64 << 20,
        ...(cwd && { cwd }),
        // A command that hangs is killed, so its test fails instead of leaving it behind.
        timeout: 120_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}
