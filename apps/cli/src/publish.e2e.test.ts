import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { computeDigest } from '@concil/oci-spec';
import type { FixtureLayout, TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureRegistry, startFixtureRegistry } from './test/fixture-registry.js';
import { runCli } from './test/run-cli.js';

const run = promisify(execFile);
let setup: FixtureRegistry;
let registry: TestRegistry;
let work: string;
let multi: FixtureLayout;
let env: Record<string, string>;

beforeAll(async () => {
  setup = await startFixtureRegistry();
  ({ registry, work, multi } = setup);
  const config = join(work, 'config.json');
  await writeFile(
    config,
    JSON.stringify({ cosign_path: join(work, 'keys'), cache_dir: join(work, 'cache') }),
  );
  env = { CONCIL_CONFIG: config, COSIGN_PASSWORD: 'pw' };
}, 120_000);

afterAll(() => setup?.stop());

async function manifestDigestOf(image: string): Promise<string> {
  const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', image], {
    encoding: 'buffer',
  });
  return computeDigest(stdout);
}

describe('concil publish', () => {
  it('publishes a whole index from an OCI layout, signed: skopeo reads the same digest, verify the signature', async () => {
    expect((await runCli(['config', 'cosign-generate-key', 'release'], env)).code).toBe(0);
    const image = `docker://${registry.host}/published/app`;
    const published = await runCli(
      ['publish', '--cosign-key', 'release', `oci:${multi.dir}`, `${image}:1`],
      env,
    );
    expect(published.stderr).toBe('');
    expect(published.stdout).toBe(
      `published ${multi.root.digest} to ${image}:1: 5 blobs (${published.stdout.match(/\((.*?)\)/)![1]}), 0 already there; signed with release (sha256-${multi.root.digest.slice(7)}.sig)\n`,
    );
    expect(await manifestDigestOf(`${image}:1`)).toBe(multi.root.digest);
    const verified = await runCli(['verify', `${image}:1`], env);
    expect(verified.stdout).toBe(
      `valid: ${image}@${multi.root.digest}: signed by release for ${registry.host}/published/app@${multi.root.digest}\n`,
    );
  });

  it('publishes an image of the local cache (as the Python concil published its local images)', async () => {
    const source = `docker://${registry.host}/skopeo/oci:1`;
    expect((await runCli(['pull', source], env)).code).toBe(0);
    const destination = `docker://${registry.host}/published/from-cache:1`;
    const published = await runCli(['publish', '--json', source, destination], env);
    expect(published.stderr).toBe('');
    const result = JSON.parse(published.stdout);
    expect(result).toMatchObject({ blobsCopied: 3, blobsMounted: 0 }); // the cache is no registry: nothing to mount from
    expect(result.descriptor.digest).toBe(await manifestDigestOf(source));
    expect(await manifestDigestOf(destination)).toBe(result.descriptor.digest);
  });

  it('refuses a destination that is no registry, and writes nothing there', async () => {
    const result = await runCli(
      ['publish', `oci:${multi.dir}`, `oci:${join(work, 'not-a-registry')}:1`],
      env,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^concil: publish writes to a registry, and oci:.*not-a-registry:1 is none.*\[TARGET_INVALID\]\n$/,
    );
  });
});
