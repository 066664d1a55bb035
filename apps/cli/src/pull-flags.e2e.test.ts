import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFixtureLayout, pushFixture, startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './test/run-cli.js';

const CREDS = 'tester:secret';

let work: string;
let tls: TestRegistry;
let plain: TestRegistry;
let digest: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-e2e-'));
  [tls, plain] = await Promise.all([
    startRegistry({ auth: 'basic', tls: true }),
    startRegistry({ auth: 'basic' }),
  ]);
  const layout = await buildFixtureLayout(join(work, 'single'));
  digest = layout.root.digest;
  for (const registry of [tls, plain]) {
    await pushFixture(layout.dir, `${registry.host}/app:1`, { format: 'oci', credentials: CREDS });
  }
}, 120_000);

afterAll(async () => {
  await Promise.all([tls?.stop(), plain?.stop()]);
  await rm(work, { recursive: true, force: true });
});

/** A configuration with neither CA nor credentials, and a cache of its own. */
async function bareConfig(
  name: string,
  remoteServers: Record<string, unknown>,
): Promise<Record<string, string>> {
  const path = join(work, `${name}.json`);
  await writeFile(
    path,
    JSON.stringify({ cache_dir: join(work, `cache-${name}`), remote_servers: remoteServers }),
  );
  return { CONCIL_CONFIG: path };
}

describe('concil pull takes the registry flags copy and list take', () => {
  const image = () => `docker://${tls.host}/app:1`;
  // A loopback host gets plain HTTP unless the configuration says https://.
  const https = () => ({ [tls.host]: { registry: `https://${tls.host}` } });

  it('fails without them: the CA is unknown, then the credentials are missing', async () => {
    const env = await bareConfig('none', https());
    const untrusted = await runCli(['pull', '--json', image()], env);
    expect(JSON.parse(untrusted.stdout).error.code).toBe('TLS');
    const anonymous = await runCli(['pull', '--json', '--insecure', image()], env);
    expect(JSON.parse(anonymous.stdout).error.code).toBe('UNAUTHORIZED');
  });

  it('--creds with --ca-file, --insecure or --cert-dir', async () => {
    const certDir = join(work, 'certs.d');
    await mkdir(certDir, { recursive: true });
    await copyFile(tls.tls!.caPath, join(certDir, 'ca.crt'));
    for (const [name, flags] of [
      ['ca-file', ['--ca-file', tls.tls!.caPath]],
      ['insecure', ['--insecure']],
      ['cert-dir', ['--cert-dir', certDir]],
    ] as const) {
      const pulled = await runCli(
        ['pull', '--json', '--creds', CREDS, ...flags, image()],
        await bareConfig(name, https()),
      );
      expect(pulled.stderr).toBe('');
      expect(JSON.parse(pulled.stdout)).toMatchObject({ fromCache: false, manifestDescriptor: { digest } });
    }
  }, 60_000);

  it('--plain-http, for a host that is not loopback by name', async () => {
    // 0.0.0.0 reaches the loopback registry, but by name it gets HTTPS unless told otherwise.
    const host = plain.host.replace('127.0.0.1', '0.0.0.0');
    const env = await bareConfig('plain-http', {});
    const refused = await runCli(['pull', '--json', '--creds', CREDS, `docker://${host}/app:1`], env);
    expect(JSON.parse(refused.stdout).error.code).toBe('TLS');
    const pulled = await runCli(
      ['pull', '--json', '--creds', CREDS, '--plain-http', `docker://${host}/app:1`],
      env,
    );
    expect(pulled.stderr).toBe('');
    expect(JSON.parse(pulled.stdout)).toMatchObject({ fromCache: false, manifestDescriptor: { digest } });
  });
});
