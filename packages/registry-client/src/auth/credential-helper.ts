import { RegistryError } from '../errors.js';
import type { Credentials } from './credentials.js';

/**
 * Runs `docker-credential-<helper> get` with the server on stdin, as docker does, and reads
 * `{ "Username", "Secret" }` from stdout. "Not found" answers give undefined.
 */
export async function getFromCredentialHelper(
  helper: string,
  serverUrl: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Credentials | undefined> {
  const program = `docker-credential-${helper}`;
  // Loaded here: node:child_process (and node:net with it) is a cost most runs never need.
  const { spawn } = await import('node:child_process');
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(program, ['get'], { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: 30_000 });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        err += chunk;
      });
      child.on('error', (error) => reject(error));
      child.on('close', (exitCode) => resolve({ code: exitCode, stdout: out, stderr: err }));
      child.stdin.on('error', () => {});
      child.stdin.end(serverUrl);
    },
  ).catch((error: NodeJS.ErrnoException) => {
    throw new RegistryError(
      'UNAUTHORIZED',
      error.code === 'ENOENT'
        ? `credential helper ${program} is configured for ${serverUrl} but not on PATH; install it or remove it from ~/.docker/config.json`
        : `credential helper ${program} failed to start: ${error.message}`,
      { reference: serverUrl, cause: error },
    );
  });
  if (code !== 0) {
    const said = `${stdout} ${stderr}`.trim();
    if (/not found|no credentials/i.test(said)) return undefined;
    // Whatever a helper prints might hold a secret: only plain-text complaints are passed on.
    const firstLine = said.split('\n')[0]?.slice(0, 200) ?? '';
    const shown =
      firstLine.startsWith('{') || /secret|password|token/i.test(firstLine) ? '' : `: ${firstLine}`;
    throw new RegistryError(
      'UNAUTHORIZED',
      `credential helper ${program} failed for ${serverUrl} (exit ${code})${shown}`,
      { reference: serverUrl },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new RegistryError(
      'UNAUTHORIZED',
      `credential helper ${program} printed something that is not JSON`,
      {
        reference: serverUrl,
      },
    );
  }
  const { Username: username, Secret: secret } = (parsed ?? {}) as { Username?: unknown; Secret?: unknown };
  if (typeof secret !== 'string' || !secret) return undefined;
  if (username === '<token>') return { identityToken: secret };
  return { username: typeof username === 'string' ? username : '', password: secret };
}
