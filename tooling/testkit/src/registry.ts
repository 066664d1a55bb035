import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { selfSignedCertificate } from './certificate.js';
import { findFreePort } from './free-port.js';
import { reapOnExit, stopChild } from './process-reaper.js';
import { type GrantPolicy, startTokenIssuer, type TokenIssuer } from './token-issuer.js';

const run = promisify(execFile);

export type RegistryAuth = 'none' | 'basic' | 'token';

export interface StartRegistryOptions {
  auth?: RegistryAuth;
  /** user → password, for `basic` and `token` (default `{ tester: 'secret' }`). */
  users?: Record<string, string>;
  /** Lifetime of issued tokens in seconds (token mode). */
  tokenExpiresIn?: number;
  /** Which actions the token issuer grants (token mode; default: everything to known users). */
  grant?: GrantPolicy;
  /** OAuth2 refresh tokens the token issuer accepts, and the user each stands for (token mode). */
  refreshTokens?: Record<string, string>;
  /** Keep the storage and log directory after `stop()` (default false). */
  keep?: boolean;
  /**
   * Serve HTTPS with a self-signed certificate for 127.0.0.1; with `clientAuth`, also require a
   * client certificate (one is made for the test).
   */
  tls?: boolean | { clientAuth?: boolean };
  /**
   * Serve the API below a path (distribution's `http.prefix`), e.g. `/some/prefix`: then `/v2/`
   * is at `url + prefix + '/v2/'`, as behind a reverse proxy that routes by path.
   */
  prefix?: string;
  /** Allow DELETE of manifests and blobs (default true); false answers 405 UNSUPPORTED as registries do. */
  deleteEnabled?: boolean;
}

export interface TestRegistryTls {
  /** The server's self-signed certificate: the CA a client must trust. */
  caPath: string;
  clientCertPath?: string;
  clientKeyPath?: string;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT`, as it appears in image references. */
  host: string;
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** The path the API is served below (`''` unless `prefix` was given, then e.g. `/some/prefix`). */
  prefix: string;
  auth: RegistryAuth;
  users: Record<string, string>;
  /** The registry's stdout and stderr, including its access log. */
  logPath: string;
  storageDir: string;
  /** The token issuer in `token` mode. */
  tokenIssuer?: TokenIssuer;
  /** Certificates in TLS mode (then `url` is `https://…`). */
  tls?: TestRegistryTls;
  /** How many `/v2/…` requests the registry has logged so far (access log). */
  requestCount(): Promise<number>;
  stop(): Promise<void>;
}

const defaultUsers = { tester: 'secret' };

/** Starts Debian's docker-registry (distribution 2.8) on a free loopback port and waits until it answers. */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
  // The free port is found by binding and letting go of it: another test started in parallel may
  // take it before docker-registry binds it. Then the registry starts again on another port.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRegistryOnce(options);
    } catch (error) {
      if (attempt === 3 || !/bind: address already in use/.test((error as Error).message)) throw error;
    }
  }
}

async function startRegistryOnce(options: StartRegistryOptions): Promise<TestRegistry> {
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
      ...(options.grant && { grant: options.grant }),
      ...(options.refreshTokens && { refreshTokens: options.refreshTokens }),
    });
    authSection =
      'auth:\n  token:\n' +
      `    realm: ${tokenIssuer.realm}\n` +
      `    service: ${tokenIssuer.service}\n` +
      `    issuer: ${tokenIssuer.issuer}\n` +
      `    rootcertbundle: ${tokenIssuer.certPath}\n`;
  }

  let tls: TestRegistryTls | undefined;
  let tlsSection = '';
  if (options.tls) {
    const certificate = await selfSignedCertificate(
      dir,
      'server',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    );
    tls = { caPath: certificate.certPath };
    tlsSection = `  tls:\n    certificate: ${certificate.certPath}\n    key: ${certificate.keyPath}\n`;
    if (typeof options.tls === 'object' && options.tls.clientAuth) {
      const client = await selfSignedCertificate(dir, 'client');
      tls.clientCertPath = client.certPath;
      tls.clientKeyPath = client.keyPath;
      tlsSection += `    clientcas:\n      - ${client.certPath}\n`;
    }
  }
  const scheme = tls ? 'https' : 'http';
  const prefix = (options.prefix ?? '').replace(/\/+$/, '');

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
      `    enabled: ${options.deleteEnabled ?? true}`,
      'http:',
      `  addr: ${host}`,
      ...(prefix ? [`  prefix: ${prefix}/`] : []),
      '  secret: concil-testkit-not-a-secret',
      tlsSection,
      authSection,
    ].join('\n'),
  );

  const logFd = openSync(logPath, 'a');
  const child: ChildProcess = spawn('docker-registry', ['serve', configPath], {
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  reapOnExit(child, options.keep ? undefined : dir);

  const stop = async (): Promise<void> => {
    await stopChild(child);
    await tokenIssuer?.stop();
    if (!options.keep) await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitUntilServing(`${scheme}://${host}${prefix}/v2/`, child, logPath, tls);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    host,
    url: `${scheme}://${host}`,
    prefix,
    auth,
    ...(tls && { tls }),
    users,
    logPath,
    storageDir,
    ...(tokenIssuer && { tokenIssuer }),
    requestCount: async () => {
      const log = await readFile(logPath, 'utf8');
      const api = `${prefix}/v2/`;
      return log
        .split('\n')
        .filter((line) => /"(?:GET|HEAD|PUT|POST|PATCH|DELETE) (\S+)/.exec(line)?.[1]?.startsWith(api))
        .length;
    },
    stop,
  };
}

async function waitUntilServing(
  url: string,
  child: ChildProcess,
  logPath: string,
  tls: TestRegistryTls | undefined,
): Promise<void> {
  const deadline = Date.now() + 20_000;
  const ca = tls ? await readFile(tls.caPath) : undefined;
  const cert = tls?.clientCertPath ? await readFile(tls.clientCertPath) : undefined;
  const key = tls?.clientKeyPath ? await readFile(tls.clientKeyPath) : undefined;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      const log = await readFile(logPath, 'utf8').catch(() => '');
      throw new Error(`docker-registry exited with ${child.exitCode}:\n${log.slice(-2000)}`);
    }
    const status = await new Promise<number>((resolve) => {
      const request = (url.startsWith('https:') ? httpsGet : httpGet)(url, { ca, cert, key }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', () => resolve(0));
    });
    if (status === 200 || status === 401) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`docker-registry did not answer ${url} within 20 s; see ${logPath}`);
}
