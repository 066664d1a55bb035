import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The launcher at the root of the repository: what the README tells people to run. */
export const concilLauncher = join(import.meta.dirname, '..', '..', '..', '..', 'concil');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The signal that ended the command, when one did (then `code` is 1). */
  signal?: NodeJS.Signals;
}

export interface CliOptions {
  /** Under `ulimit -f`, so that writing more fails as on a full disk (EFBIG). */
  fileSizeLimitKiB?: number;
  /** Written to its standard input, which is then closed. */
  input?: string;
  /** The working directory (by default the test's). */
  cwd?: string;
}

let home: Promise<string> | undefined;

/** The environment the CLI runs in: a HOME of its own (no stray credentials), its config there. */
export async function cliEnvironment(): Promise<Record<string, string | undefined>> {
  home ??= mkdtemp(join(tmpdir(), 'concil-cli-home-'));
  const HOME = await home;
  return { PATH: process.env.PATH, HOME, CONCIL_CONFIG: join(HOME, 'config.json') };
}

/**
 * Runs the built `concil` as a person would (`./concil …`), with a HOME of its own (no stray credentials).
 * `fileSizeLimitKiB`: under `ulimit -f`, so that writing more fails as on a full disk (EFBIG).
 * `input`: written to its standard input, which is then closed.
 */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
  options: CliOptions = {},
): Promise<CliResult> {
  return (await startCli(args, env, options)).result;
}

/** Starts the built `concil` as `runCli` does; the child is there to send it signals. */
export async function startCli(
  args: string[],
  env: Record<string, string> = {},
  { fileSizeLimitKiB, input, cwd }: CliOptions = {},
): Promise<{ child: ChildProcess; result: Promise<CliResult> }> {
  const [command, commandArgs] =
    fileSizeLimitKiB === undefined
      ? [concilLauncher, args]
      : ['bash', ['-c', `ulimit -f ${fileSizeLimitKiB} && exec "$0" "$@"`, concilLauncher, ...args]];
  const environment = { ...(await cliEnvironment()), ...env };
  let child: ChildProcess | undefined;
  const result = new Promise<CliResult>((resolve) => {
    child = execFile(
      command,
      commandArgs,
      {
        env: environment,
        maxBuffer: 64 << 20,
        ...(cwd && { cwd }),
        // A command that hangs is killed before the tests' 60 s limit: its test fails with what it
        // printed, and it is not left behind.
        timeout: 50_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr, ...(error?.signal && { signal: error.signal }) });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
  return { child: child!, result };
}
