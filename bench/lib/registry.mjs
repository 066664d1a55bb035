// A docker-registry (Debian's distribution 2.8) on loopback for the benches.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function findFreePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts docker-registry on 127.0.0.1 with filesystem storage in a temporary directory (or
 * `storageDir`), waits until `/v2/` answers, and returns `{ host, url, storageDir, stop() }`.
 * The process is killed when this process exits, whatever happens.
 */
export async function startBenchRegistry(options = {}) {
  const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'concil-bench-registry-'));
  const storageDir = options.storageDir ?? join(dir, 'storage');
  await mkdir(storageDir, { recursive: true });
  const port = options.port ?? (await findFreePort());
  const host = `127.0.0.1:${port}`;
  const configPath = join(dir, 'config.yml');
  await writeFile(
    configPath,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${storageDir}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${host}`,
      '',
    ].join('\n'),
  );
  const child = spawn(options.binary ?? 'docker-registry', ['serve', configPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    if (stderr.length < 1 << 16) stderr += chunk;
  });
  const kill = () => child.kill('SIGKILL');
  process.on('exit', kill);

  const url = `http://${host}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 15_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`${url}/v2/`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      kill();
      throw new Error(`docker-registry did not answer on ${url} within the timeout: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    host,
    url,
    storageDir,
    pid: child.pid,
    async stop() {
      process.off('exit', kill);
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      if (!options.keep) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The URL of a blob of `repository` in a registry. */
export function blobUrl(registryUrl, repository, digest) {
  return `${registryUrl}/v2/${repository}/blobs/${digest}`;
}
