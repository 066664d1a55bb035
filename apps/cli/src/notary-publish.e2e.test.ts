import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildFixtureLayout,
  pushFixture,
  startNotary,
  startRegistry,
  type TestNotary,
  type TestRegistry,
} from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './test/run-cli.js';

let registry: TestRegistry;
let notary: TestNotary;
let work: string;
let env: Record<string, string>;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-e2e-notary-'));
  [registry, notary] = await Promise.all([startRegistry(), startNotary()]);
  const layout = await buildFixtureLayout(join(work, 'layout'));
  await pushFixture(layout.dir, `${registry.host}/signed/app:1`, { format: 'oci' });
  const config = join(work, 'config.json');
  await writeFile(
    config,
    JSON.stringify({
      cache_dir: join(work, 'cache'),
      notary_path: join(work, 'notary'),
      cafile: notary.caPath,
      remote_servers: { [registry.host]: { notary: notary.url } },
    }),
  );
  env = { CONCIL_CONFIG: config, CONCIL_NOTARY_PASSPHRASE: 'pw' };
});

afterAll(async () => {
  await Promise.all([registry?.stop(), notary?.stop()]);
  await rm(work, { recursive: true, force: true });
});

describe('concil notary-publish', () => {
  it("signs a tag's manifest in the Notary server, and the notary CLI lists it", async () => {
    const image = `docker://${registry.host}/signed/app:1`;
    const digest = (await runCli(['digest', image])).stdout.trim();
    const size = Buffer.byteLength((await runCli(['inspect', image, '--raw'])).stdout);
    const published = await runCli(['notary-publish', image, '--json'], env);
    expect(published.stderr).toBe('');
    expect(published.code).toBe(0);
    const result = JSON.parse(published.stdout);
    expect(result).toEqual({
      gun: `${registry.host}/signed/app`,
      name: '1',
      digest,
      size,
      role: 'targets',
      initialized: true,
    });
    const { stdout } = await notary.client(['lookup', `${registry.host}/signed/app`, '1']);
    expect(stdout.trim()).toBe(`1 ${digest} ${size}`);

    const again = await runCli(['notary-publish', image], env);
    expect(again).toEqual({
      code: 0,
      stdout: `signed ${registry.host}/signed/app:1 → ${digest} (${size} bytes) in ${notary.url} (targets)\n`,
      stderr: '',
    });
  });

  it('names the setting to add when the registry has no Notary server', async () => {
    const config = join(work, 'no-notary.json');
    await writeFile(config, JSON.stringify({ cache_dir: join(work, 'cache') }));
    const refused = await runCli(['notary-publish', `docker://${registry.host}/signed/app:1`], {
      CONCIL_CONFIG: config,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `no Notary server is configured for ${registry.host}: set remote_servers["${registry.host}"].notary in the configuration`,
    );
  });
});
