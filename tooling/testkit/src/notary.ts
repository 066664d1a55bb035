import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { certificateAuthority } from './certificate.js';
import { findFreePort } from './free-port.js';
import { reapOnExit, stopChild } from './process-reaper.js';
import { startTokenIssuer, type TokenIssuer } from './token-issuer.js';

const run = promisify(execFile);

export interface TestNotary {
  /** `https://127.0.0.1:PORT`: the notary server's URL. */
  url: string;
  /** The CA that signed the server's certificate: what a client must trust. */
  caPath: string;
  /** `127.0.0.1:PORT` of notary-signer's gRPC over TLS, which takes only clients with a certificate of the CA. */
  signerAddress: string;
  /** notary-server's and notary-signer's output. */
  serverLogPath: string;
  signerLogPath: string;
  /**
   * Runs Debian's `notary` CLI against the server with a fresh trust directory unless `trustDir`
   * is given; passphrases come from `passphrase` (default `concil-test-passphrase`).
   */
  client(
    args: string[],
    options?: { trustDir?: string; passphrase?: string; input?: string },
  ): Promise<NotaryCliResult>;
  /** With `auth: 'token'`: the token issuer the server sends clients to (the CLI logs in as the first user). */
  tokenIssuer?: TokenIssuer;
  stop(): Promise<void>;
}

export interface NotaryCliResult {
  stdout: string;
  stderr: string;
  /** The trust directory the run used. */
  trustDir: string;
}

/**
 * Starts Debian's notary-signer and notary-server on loopback: TLS everywhere with certificates
 * of a CA made here (names in the SAN), mutual TLS between server and signer, in-memory storage.
 * Ready once a real metadata request (a GUN's timestamp key, which the signer makes) succeeds:
 * the health endpoint answers before the server can reach the signer.
 */
export async function startNotary(
  options: { keep?: boolean; auth?: 'none' | 'token'; users?: Record<string, string> } = {},
): Promise<TestNotary> {
  const dir = await mkdtemp(join(tmpdir(), 'concil-notary-'));
  const users = options.users ?? { tester: 'secret' };
  const tokenIssuer =
    options.auth === 'token'
      ? await startTokenIssuer({ dir, users, service: 'concil-test-notary' })
      : undefined;
  const [user, password] = Object.entries(users)[0] ?? [];
  const basicAuth = Buffer.from(`${user}:${password}`).toString('base64');
  const ca = await certificateAuthority(dir);
  const serverCert = await ca.issue('notary-server');
  const signerCert = await ca.issue('notary-signer');
  const [serverPort, signerPort] = [await findFreePort(), await findFreePort()];

  const signerConfig = join(dir, 'signer.json');
  await writeFile(
    signerConfig,
    JSON.stringify({
      server: {
        grpc_addr: `127.0.0.1:${signerPort}`,
        tls_cert_file: signerCert.certPath,
        tls_key_file: signerCert.keyPath,
        client_ca_file: ca.certPath,
      },
      logging: { level: 'info' },
      storage: { backend: 'memory' },
    }),
  );
  const serverConfig = join(dir, 'server.json');
  await writeFile(
    serverConfig,
    JSON.stringify({
      server: {
        http_addr: `127.0.0.1:${serverPort}`,
        tls_cert_file: serverCert.certPath,
        tls_key_file: serverCert.keyPath,
      },
      trust_service: {
        type: 'remote',
        hostname: '127.0.0.1',
        port: String(signerPort),
        tls_ca_file: ca.certPath,
        key_algorithm: 'ecdsa',
        tls_client_cert: serverCert.certPath,
        tls_client_key: serverCert.keyPath,
      },
      logging: { level: 'info' },
      storage: { backend: 'memory' },
      ...(tokenIssuer && {
        auth: {
          type: 'token',
          options: {
            realm: tokenIssuer.realm,
            service: tokenIssuer.service,
            issuer: tokenIssuer.issuer,
            rootcertbundle: tokenIssuer.certPath,
            autoredirect: false,
          },
        },
      }),
    }),
  );

  const signerLogPath = join(dir, 'signer.log');
  const serverLogPath = join(dir, 'server.log');
  const start = (command: string, config: string, logPath: string): ChildProcess => {
    const logFd = openSync(logPath, 'a');
    const child = spawn(command, ['-config', config], { stdio: ['ignore', logFd, logFd], cwd: dir });
    closeSync(logFd);
    reapOnExit(child, options.keep ? undefined : dir);
    return child;
  };
  const signer = start('notary-signer', signerConfig, signerLogPath);
  const server = start('notary-server', serverConfig, serverLogPath);
  const url = `https://127.0.0.1:${serverPort}`;

  const stop = async (): Promise<void> => {
    await stopChild(server);
    await stopChild(signer);
    await tokenIssuer?.stop();
    if (!options.keep) await rm(dir, { recursive: true, force: true });
  };
  try {
    const authorization = tokenIssuer && (await probeToken(tokenIssuer, basicAuth));
    await waitForTimestampKey(
      url,
      ca.certPath,
      [server, signer],
      [serverLogPath, signerLogPath],
      authorization,
    );
  } catch (error) {
    await stop();
    throw error;
  }

  let runs = 0;
  const client: TestNotary['client'] = async (args, clientOptions = {}) => {
    const trustDir = clientOptions.trustDir ?? (await mkdtemp(join(dir, `client-${runs++}-`)));
    const passphrase = clientOptions.passphrase ?? 'concil-test-passphrase';
    const env = {
      ...process.env,
      NOTARY_ROOT_PASSPHRASE: passphrase,
      NOTARY_TARGETS_PASSPHRASE: passphrase,
      NOTARY_SNAPSHOT_PASSPHRASE: passphrase,
      NOTARY_DELEGATION_PASSPHRASE: passphrase,
      ...(tokenIssuer && { NOTARY_AUTH: basicAuth }),
    };
    try {
      // Standard input is what `input` says (e.g. "yes" to a confirmation), then closed: a
      // prompt nobody answers fails instead of waiting for ever.
      const running = run('notary', ['-s', url, '-d', trustDir, '--tlscacert', ca.certPath, ...args], {
        env,
      });
      running.child.stdin?.end(clientOptions.input ?? '');
      const { stdout, stderr } = await running;
      return { stdout, stderr, trustDir };
    } catch (error) {
      const { stderr, stdout } = error as { stderr?: string; stdout?: string };
      throw new Error(`notary ${args.join(' ')} failed: ${stderr || stdout || (error as Error).message}`, {
        cause: error,
      });
    }
  };

  return {
    url,
    caPath: ca.certPath,
    signerAddress: `127.0.0.1:${signerPort}`,
    serverLogPath,
    signerLogPath,
    client,
    ...(tokenIssuer && { tokenIssuer }),
    stop,
  };
}

/** A bearer token for the readiness probe's GUN, from the issuer (the first user's credentials). */
async function probeToken(issuer: TokenIssuer, basicAuth: string): Promise<string> {
  const url = new URL(issuer.realm);
  url.searchParams.set('service', issuer.service);
  url.searchParams.set('scope', 'repository:concil-testkit/probe:push,pull');
  const response = await fetch(url, { headers: { authorization: `Basic ${basicAuth}` } });
  const { token } = (await response.json()) as { token: string };
  return `Bearer ${token}`;
}

async function waitForTimestampKey(
  url: string,
  caPath: string,
  children: ChildProcess[],
  logPaths: string[],
  authorization?: string,
): Promise<void> {
  const ca = await readFile(caPath);
  const probe = `${url}/v2/concil-testkit/probe/_trust/tuf/timestamp.key`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const exited = children.findIndex((child) => child.exitCode !== null);
    if (exited >= 0) {
      const log = await readFile(logPaths[exited] as string, 'utf8').catch(() => '');
      throw new Error(
        `${children[exited]?.spawnfile} exited with ${children[exited]?.exitCode}:\n${log.slice(-2000)}`,
      );
    }
    const status = await new Promise<number>((resolve) => {
      const headers = authorization ? { authorization } : undefined;
      const request = httpsGet(probe, { ca, ...(headers && { headers }) }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', () => resolve(0));
    });
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `notary-server did not hand out a timestamp key at ${probe} within 30 s; see ${logPaths.join(', ')}`,
  );
}
