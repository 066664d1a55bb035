import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The launcher at the root of the repository: what the README tells people to run. */
export const concilLauncher = join(import.meta.dirname, '..', '..', '..', '..', 'concil');

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
 * Runs the built `concil` as a person would (`./concil …`), with a HOME of its own (no stray credentials).
 * `fileSizeLimitKiB`: under `ulimit -f`, so that writing more fails as on a full disk (EFBIG).
 * `input`: written to its standard input, which is then closed.
 */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
  { fileSizeLimitKiB, input }: { fileSizeLimitKiB?: number; input?: string } = {},
): Promise<CliResult> {
  const [command, commandArgs] =
    fileSizeLimitKiB === undefined
      ? [concilLauncher, args]
      : ['bash', ['-c', `ulimit -f ${fileSizeLimitKiB} && exec "$0" "$@"`, concilLauncher, ...args]];
  const environment = { ...(await cliEnvironment()), ...env };
  return new Promise((resolve) => {
    const child = execFile(
      command,
      commandArgs,
      {
        env: environment,
        maxBuffer: 64 << 20,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}
