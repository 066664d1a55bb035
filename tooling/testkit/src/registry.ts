import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findFreePort } from './free-port.js';
import { reapOnExit, stopChild } from './process-reaper.js';
import { startTokenIssuer, type TokenIssuer } from './token-issuer.js';

const run = promisify(execFile);

export type RegistryAuth = 'none' | 'basic' | 'token';

export interface StartRegistryOptions {
  auth?: RegistryAuth;
  /** user → password, for `basic` and `token` (default `{ tester: 'secret' }`). */
  users?: Record<string, string>;
  /** Lifetime of issued tokens in seconds (token mode). */
  tokenExpiresIn?: number;
  /** Keep the storage and log directory after `stop()` (default false). */
  keep?: boolean;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT`, as it appears in image references. */
  host: string;
  /** `http://127.0.0.1:PORT`. */
  url: string;
  auth: RegistryAuth;
  users: Record<string, string>;
  /** The registry's stdout and stderr, including its access log. */
  logPath: string;
  storageDir: string;
  /** The token issuer in `token` mode. */
  tokenIssuer?: TokenIssuer;
  /** How many `/v2/…` requests the registry has logged so far (access log). */
  requestCount(): Promise<number>;
  stop(): Promise<void>;
}

const defaultUsers = { tester: 'secret' };

/** Starts Debian's docker-registry (distribution 2.8) on a free loopback port and waits until it answers. */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
  const auth = options.auth ?? 'none';
  const users = options.users ?? defaultUsers;
  const dir = await mkdtemp(join(tmpdir(), 'concil-registry-'));
  const storageDir = join(dir, 'storage');
  await mkdir(storageDir);
  const logPath = join(dir, 'registry.log');
  const port = await findFreePort();
  const host = `127.0.0.1:${port}`;

  let tokenIssuer: TokenIssuer | undefined;
  let authSection = '';
  if (auth === 'basic') {
    const lines: string[] = [];
    for (const [user, password] of Object.entries(users)) {
      const { stdout } = await run('htpasswd', ['-Bbn', user, password]);
      lines.push(stdout.trim());
    }
    const htpasswdPath = join(dir, 'htpasswd');
    await writeFile(htpasswdPath, `${lines.join('\n')}\n`);
    authSection = `auth:\n  htpasswd:\n    realm: concil-test\n    path: ${htpasswdPath}\n`;
  } else if (auth === 'token') {
    tokenIssuer = await startTokenIssuer({
      dir,
      users,
      ...(options.tokenExpiresIn !== undefined && { expiresIn: options.tokenExpiresIn }),
    });
    authSection =
      'auth:\n  token:\n' +
      `    realm: ${tokenIssuer.realm}\n` +
      `    service: ${tokenIssuer.service}\n` +
      `    issuer: ${tokenIssuer.issuer}\n` +
      `    rootcertbundle: ${tokenIssuer.certPath}\n`;
  }

  const configPath = join(dir, 'config.yml');
  await writeFile(
    configPath,
    [
      'version: 0.1',
      'log:',
      '  level: info',
      '  formatter: text',
      '  accesslog:',
      '    disabled: false',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${storageDir}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${host}`,
      '  secret: concil-testkit-not-a-secret',
      authSection,
    ].join('\n'),
  );

  const logFd = openSync(logPath, 'a');
  const child: ChildProcess = spawn('docker-registry', ['serve', configPath], {
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  reapOnExit(child);

  const stop = async (): Promise<void> => {
    await stopChild(child);
    await tokenIssuer?.stop();
    if (!options.keep) await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitUntilServing(`http://${host}/v2/`, child, logPath);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    host,
    url: `http://${host}`,
    auth,
    users,
    logPath,
    storageDir,
    ...(tokenIssuer && { tokenIssuer }),
    requestCount: async () => {
      const log = await readFile(logPath, 'utf8');
      return log.split('\n').filter((line) => /"(?:GET|HEAD|PUT|POST|PATCH|DELETE) \/v2\//.test(line)).length;
    },
    stop,
  };
}

async function waitUntilServing(url: string, child: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      const log = await readFile(logPath, 'utf8').catch(() => '');
      throw new Error(`docker-registry exited with ${child.exitCode}:\n${log.slice(-2000)}`);
    }
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status === 200 || response.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`docker-registry did not answer ${url} within 20 s; see ${logPath}`);
}
