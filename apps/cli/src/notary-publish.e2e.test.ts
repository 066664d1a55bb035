import { access, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
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

describe('content_trust "notary" on copy and pull', () => {
  it('takes the digest Notary signs for a tag, and refuses a tag it does not sign, copy as pull; nothing kept', async () => {
    const signed = `docker://${registry.host}/trusted/app:1`;
    const unsigned = `docker://${registry.host}/trusted/app:2`;
    const layout = await buildFixtureLayout(join(work, 'trusted-layout'));
    for (const image of [signed, unsigned]) {
      await pushFixture(layout.dir, image.slice('docker://'.length), { format: 'oci' });
    }
    expect((await runCli(['notary-publish', signed], env)).code).toBe(0);
    const cache = join(work, 'trust-cache');
    const config = join(work, 'notary-trust.json');
    await writeFile(
      config,
      JSON.stringify({
        cache_dir: cache,
        notary_path: join(work, 'notary-trust'),
        cafile: notary.caPath,
        content_trust: 'notary',
        remote_servers: { [registry.host]: { notary: notary.url } },
      }),
    );
    const trusted = { CONCIL_CONFIG: config };
    const copied = await runCli(['copy', '--no-cache', signed, `dir:${join(work, 'trusted-copy')}`], trusted);
    expect(copied.stderr).toBe('');
    expect(copied.code).toBe(0);
    expect((await runCli(['pull', signed], trusted)).code).toBe(0);

    const cachedBefore = (await readdir(cache, { recursive: true })).sort();
    const refusedCopy = await runCli(
      ['copy', '--no-cache', unsigned, `dir:${join(work, 'refused')}`],
      trusted,
    );
    expect(refusedCopy.code).toBe(1);
    expect(refusedCopy.stderr).toContain(
      `${registry.host}/trusted/app:2 is not trusted by Notary: "2" is not signed`,
    );
    await expect(access(join(work, 'refused'))).rejects.toMatchObject({ code: 'ENOENT' });
    const refusedPull = await runCli(['pull', unsigned], trusted);
    expect(refusedPull.code).toBe(1);
    expect(refusedPull.stderr).toContain('"2" is not signed');
    expect(refusedPull.stderr).toContain('[TRUST_FAILED]');
    expect((await readdir(cache, { recursive: true })).sort()).toEqual(cachedBefore);
  });
});
