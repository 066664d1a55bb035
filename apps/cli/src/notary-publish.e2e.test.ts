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

describe('concil publish --notary', () => {
  it('pushes and tags, then signs the tag in the Notary server: notary lookup shows the pushed digest and size', async () => {
    const layout = await buildFixtureLayout(join(work, 'publish-layout'));
    const image = `docker://${registry.host}/published/app:1`;
    const published = await runCli(['publish', '--notary', '--json', `oci:${layout.dir}`, image], env);
    expect(published.stderr).toBe('');
    expect(published.code).toBe(0);
    const digest = (await runCli(['digest', image])).stdout.trim();
    const size = Buffer.byteLength((await runCli(['inspect', image, '--raw'])).stdout);
    expect(JSON.parse(published.stdout)).toMatchObject({
      descriptor: { digest, size },
      notary: {
        gun: `${registry.host}/published/app`,
        name: '1',
        digest,
        size,
        role: 'targets',
        initialized: true,
        serverUrl: notary.url,
      },
    });
    const { stdout } = await notary.client(['lookup', `${registry.host}/published/app`, '1']);
    expect(stdout.trim()).toBe(`1 ${digest} ${size}`);

    // Published again under another tag of the same GUN: the targets gain it, the keys are kept.
    const again = await runCli(['publish', '--notary', `oci:${layout.dir}`, `${image.slice(0, -1)}2`], env);
    expect(again.stderr).toBe('');
    expect(again.stdout).toMatch(
      new RegExp(
        `^published ${digest} to docker://${registry.host}/published/app:2: .*; signed ${registry.host}/published/app:2 in ${notary.url} \\(targets\\)\n$`,
      ),
    );
    const listed = await notary.client(['list', `${registry.host}/published/app`]);
    expect(listed.stdout).toMatch(new RegExp(`^1\\s+${digest.slice(7)}\\s+${size}\\s+targets`, 'm'));
    expect(listed.stdout).toMatch(new RegExp(`^2\\s+${digest.slice(7)}\\s+${size}\\s+targets`, 'm'));
  });

  it('refuses before pushing anything when the registry has no Notary server, or the destination no tag', async () => {
    const layout = await buildFixtureLayout(join(work, 'refused-layout'));
    const config = join(work, 'publish-no-notary.json');
    await writeFile(config, JSON.stringify({ cache_dir: join(work, 'cache') }));
    const image = `docker://${registry.host}/unpublished/app:1`;
    const refused = await runCli(['publish', '--notary', `oci:${layout.dir}`, image], {
      CONCIL_CONFIG: config,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `no Notary server is configured for ${registry.host}: set remote_servers["${registry.host}"].notary in the configuration`,
    );
    const digest = (await runCli(['digest', `oci:${layout.dir}`])).stdout.trim();
    const byDigest = await runCli(
      ['publish', '--notary', `oci:${layout.dir}`, `docker://${registry.host}/unpublished/app@${digest}`],
      env,
    );
    expect(byDigest.code).toBe(1);
    expect(byDigest.stderr).toContain(
      `Notary signs tags, and docker://${registry.host}/unpublished/app@${digest} names none: publish to docker://host/repo:tag`,
    );
    const tags = await fetch(`${registry.url}/v2/unpublished/app/tags/list`);
    expect(tags.status).toBe(404);
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
