import { access, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFixtureLayout, pushFixture, startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './test/run-cli.js';

let registry: TestRegistry;
let work: string;
let digest: string;
let host: string;
const keys = () => join(work, 'keys');
const cache = () => join(work, 'cache');

/** A configuration file; every command below reads the one it is given. */
async function config(name: string, settings: Record<string, unknown>): Promise<Record<string, string>> {
  const path = join(work, `${name}.json`);
  await writeFile(path, JSON.stringify({ cosign_path: keys(), cache_dir: cache(), ...settings }));
  return { CONCIL_CONFIG: path, COSIGN_PASSWORD: 'pw' };
}

async function cachedBlobs(): Promise<string[]> {
  return readdir(join(cache(), 'blobs', 'sha256')).catch(() => []);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-e2e-trust-'));
  registry = await startRegistry();
  host = registry.host;
  const layout = await buildFixtureLayout(join(work, 'layout'));
  for (const repo of ['trusted/unsigned', 'trusted/other-key', 'trusted/signed', 'open/app']) {
    await pushFixture(layout.dir, `${host}/${repo}:1`, { format: 'oci' });
  }
  const plain = await config('plain', {});
  digest = (await runCli(['digest', `docker://${host}/trusted/signed:1`], plain)).stdout.trim();
  expect((await runCli(['config', 'cosign-generate-key', 'release'], plain)).code).toBe(0);
  expect((await runCli(['sign', `docker://${host}/trusted/signed:1`, '--key', 'release'], plain)).code).toBe(
    0,
  );
  // A key the directory does not hold signs the other image.
  const stranger = await config('stranger', { cosign_path: join(work, 'stranger-keys') });
  expect((await runCli(['config', 'cosign-generate-key', 'stranger'], stranger)).code).toBe(0);
  const other = ['sign', `docker://${host}/trusted/other-key:1`, '--key', 'stranger'];
  expect((await runCli(other, stranger)).code).toBe(0);
});

afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('content trust (cosign) on pull and copy', () => {
  it('pull and copy both refuse an unsigned image, naming it, its digest and why; nothing is kept', async () => {
    const env = await config('cosign', { content_trust: 'cosign' });
    const image = `docker://${host}/trusted/unsigned:1`;
    const pulled = await runCli(['pull', image], env);
    expect(pulled.code).toBe(1);
    expect(pulled.stderr.trim().split('\n')).toHaveLength(1);
    expect(pulled.stderr).toContain(`${host}/trusted/unsigned:1 (${digest}) is not trusted`);
    expect(pulled.stderr).toContain(
      `not signed (no cosign signature under the tag sha256-${digest.slice(7)}.sig, no Sigstore bundle among its referrers)`,
    );
    expect(pulled.stderr).toContain('[TRUST_FAILED]');

    const destination = join(work, 'copied-unsigned');
    const copied = await runCli(['copy', image, `dir:${destination}`], env);
    expect(copied.code).toBe(1);
    expect(copied.stderr.trim().split('\n')).toHaveLength(1);
    expect(copied.stderr).toContain(`${host}/trusted/unsigned:1@${digest} does not verify`);
    expect(copied.stderr).toContain(
      `not signed (no cosign signature under the tag sha256-${digest.slice(7)}.sig, no Sigstore bundle among its referrers)`,
    );
    expect(copied.stderr).toContain('[VERIFICATION_FAILED]');
    expect(await exists(destination)).toBe(false);
    expect(await cachedBlobs()).toEqual([]);
  });

  it('pull and copy both refuse an image signed by a key the directory does not hold', async () => {
    const env = await config('cosign', { content_trust: 'cosign' });
    const image = `docker://${host}/trusted/other-key:1`;
    const why = `no trusted key (release) verifies the signature: another key made it, or the payload was altered`;
    const pulled = await runCli(['pull', image], env);
    expect(pulled.code).toBe(1);
    expect(pulled.stderr).toContain(`${host}/trusted/other-key:1 (${digest}) is not trusted`);
    expect(pulled.stderr).toContain(why);
    const destination = join(work, 'copied-other-key');
    const copied = await runCli(['copy', image, `oci:${destination}:1`], env);
    expect(copied.code).toBe(1);
    expect(copied.stderr).toContain(`${host}/trusted/other-key:1@${digest} does not verify: ${why}`);
    expect(await exists(destination)).toBe(false);
    expect(await cachedBlobs()).toEqual([]);
  });

  it('pull and copy take an image signed by a trusted key', async () => {
    const env = await config('cosign', { content_trust: 'cosign' });
    const image = `docker://${host}/trusted/signed:1`;
    const pulled = await runCli(['pull', image], env);
    expect(pulled.stderr).toBe('');
    expect(pulled.code).toBe(0);
    const copied = await runCli(['copy', '--no-cache', image, `dir:${join(work, 'copied-signed')}`], env);
    expect(copied.stderr).toBe('');
    expect(copied.code).toBe(0);
  });

  it('search reads a registry image through the policy: it refuses what pull refuses, and searches what pull takes', async () => {
    const env = await config('cosign', { content_trust: 'cosign' });
    const unsigned = `docker://${host}/trusted/unsigned:1`;
    const pulled = await runCli(['pull', unsigned], env);
    expect(pulled.code).toBe(1);
    expect(pulled.stderr).toContain(`${host}/trusted/unsigned:1 (${digest}) is not trusted`);
    const why = `not signed (no cosign signature under the tag sha256-${digest.slice(7)}.sig, no Sigstore bundle among its referrers)`;
    for (const image of [unsigned, `registry://${host}/trusted/unsigned:1`]) {
      const searched = await runCli(['search', image, 'added.txt'], env);
      expect(searched.code).toBe(1);
      expect(searched.stdout).toBe('');
      expect(searched.stderr.trim().split('\n')).toHaveLength(1);
      expect(searched.stderr).toContain(`${host}/trusted/unsigned:1@${digest} does not verify: ${why}`);
      expect(searched.stderr).toContain('[VERIFICATION_FAILED]');
    }
    expect(await cachedBlobs()).toEqual([]);

    const signed = await runCli(['search', `docker://${host}/trusted/signed:1`, 'added.txt'], env);
    expect(signed.stderr).toBe('');
    expect(signed.code).toBe(0);
    expect(signed.stdout).toContain('etc/added.txt');
  });

  it('an image cached while trust was off is refused by pull and by the cached copy once trust is on', async () => {
    const image = `docker://${host}/open/app:1`;
    expect((await runCli(['pull', image], await config('off', {}))).code).toBe(0);
    const env = await config('cosign', { content_trust: 'cosign' });
    const pulled = await runCli(['pull', image], env);
    expect(pulled.code).toBe(1);
    expect(pulled.stderr).toContain(`${host}/open/app:1 (${digest}) is not trusted`);
    const destination = join(work, 'copied-cached');
    const copied = await runCli(['copy', image, `dir:${destination}`], env);
    expect(copied.code).toBe(1);
    expect(copied.stderr).toContain(`${host}/open/app:1 (${digest}) is not trusted`);
    expect(await exists(destination)).toBe(false);
  });

  it('remote_servers turn trust off for a registry, or on for a repository prefix only', async () => {
    const unsigned = `docker://${host}/trusted/unsigned:1`;
    const offHere = await config('off-here', {
      content_trust: 'cosign',
      remote_servers: { [host]: { disable_content_trust: true } },
    });
    expect(
      (await runCli(['copy', '--no-cache', unsigned, `dir:${join(work, 'off-here')}`], offHere)).code,
    ).toBe(0);
    const onForTeam = await config('on-for-team', {
      remote_servers: { [`${host}/trusted`]: { content_trust: 'cosign' } },
    });
    const refused = await runCli(['copy', '--no-cache', unsigned, `dir:${join(work, 'on-team')}`], onForTeam);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('does not verify: not signed');
    const open = `docker://${host}/open/app:1`;
    expect((await runCli(['copy', '--no-cache', open, `dir:${join(work, 'open')}`], onForTeam)).code).toBe(0);
  });

  it('content_trust "notary" for a registry with no Notary server is refused before any image is read', async () => {
    const env = await config('notary', { content_trust: 'notary' });
    const image = `docker://${host}/trusted/signed:1`;
    const why = `no Notary server is configured for ${host}: set remote_servers["${host}"].notary in the configuration`;
    const copied = await runCli(['copy', '--no-cache', image, `dir:${join(work, 'n')}`], env);
    expect(copied.code).toBe(1);
    expect(copied.stderr).toContain(why);
    expect(copied.stderr).toContain('[NOTARY_NOT_CONFIGURED]');
    expect(await exists(join(work, 'n'))).toBe(false);
    // The store names the image it does not take, and why (the image is cached: no less refused).
    const pulled = await runCli(['pull', image], env);
    expect(pulled.code).toBe(1);
    expect(pulled.stderr).toContain(`${host}/trusted/signed:1 is not trusted: `);
    expect(pulled.stderr).toContain(why);
    expect(pulled.stderr).toContain('[TRUST_FAILED]');
  });
});
