import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFixtureLayout, pushFixture, startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './test/run-cli.js';

const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
let registry: TestRegistry;
let other: TestRegistry;
let work: string;
let env: Record<string, string>;
let digest: string;
let bundleReferrer: string;
let source: string;

async function config(name: string, settings: Record<string, unknown>): Promise<Record<string, string>> {
  const path = join(work, `${name}.json`);
  await writeFile(
    path,
    JSON.stringify({ cosign_path: join(work, 'keys'), cache_dir: join(work, `cache-${name}`), ...settings }),
  );
  return { CONCIL_CONFIG: path, COSIGN_PASSWORD: 'pw' };
}

/** A manifest straight from a registry's HTTP API: our client plays no part. */
async function rawManifest(
  url: string,
  repository: string,
  reference: string,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}/v2/${repository}/manifests/${reference}`, {
    headers: {
      accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json',
    },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-e2e-referrers-'));
  [registry, other] = await Promise.all([startRegistry(), startRegistry()]);
  const layout = await buildFixtureLayout(join(work, 'layout'));
  await pushFixture(layout.dir, `${registry.host}/signed/app:1`, { format: 'oci' });
  env = await config('plain', {});
  source = `docker://${registry.host}/signed/app`;
  digest = (await runCli(['digest', `${source}:1`], env)).stdout.trim();
  expect((await runCli(['config', 'cosign-generate-key', 'release'], env)).code).toBe(0);
  expect((await runCli(['sign', `${source}:1`, '--key', 'release'], env)).code).toBe(0);
});

afterAll(async () => {
  await Promise.all([registry?.stop(), other?.stop()]);
  await rm(work, { recursive: true, force: true });
});

describe('concil sign --bundle', () => {
  it('attaches a Sigstore bundle as a referrer (the tag schema on docker-registry 2.8); verify names both signatures', async () => {
    const signed = await runCli(['sign', `${source}:1`, '--key', 'release', '--bundle', '--json'], env);
    expect(signed.stderr).toBe('');
    const result = JSON.parse(signed.stdout);
    expect(result.referrer.artifactType).toBe(BUNDLE);
    bundleReferrer = result.referrer.digest;
    const index = await rawManifest(registry.url, 'signed/app', `sha256-${digest.slice(7)}`);
    expect(index.manifests).toEqual([
      expect.objectContaining({ digest: bundleReferrer, artifactType: BUNDLE }),
    ]);
    const verified = await runCli(['verify', `${source}:1`], env);
    expect(verified).toEqual({
      code: 0,
      stdout:
        `valid: ${source}@${digest}: signed by release for ${registry.host}/signed/app@${digest}\n` +
        `valid: ${source}@${digest}: bundle signed by release for ${registry.host}/signed/app@${digest}\n`,
      stderr: '',
    });
  });
});

describe('concil copy --referrers', () => {
  it('without --referrers the copy is unsigned (as with skopeo and crane)', async () => {
    const destination = `docker://${registry.host}/copies/bare`;
    expect((await runCli(['copy', '--no-cache', `${source}:1`, `${destination}:1`], env)).code).toBe(0);
    const verified = await runCli(
      ['verify', `${destination}:1`, '--identity', `${registry.host}/signed/app`],
      env,
    );
    expect(verified.code).toBe(1);
    expect(verified.stdout).toMatch(/^unsigned: /);
  });

  for (const where of ['another repository', 'another registry'] as const) {
    it(`copies the classic signature and the bundle to ${where}, where they verify`, async () => {
      const host = where === 'another registry' ? other.host : registry.host;
      const url = where === 'another registry' ? other.url : registry.url;
      const destination = `docker://${host}/copies/app`;
      const copied = await runCli(['copy', '--referrers', `${source}:1`, `${destination}:1`], env);
      expect(copied.stderr).toBe('');
      expect(copied.code).toBe(0);
      expect(copied.stdout).toContain(', 2 signatures and other referrers\n');
      // What the destination holds, read without our client: the .sig tag and the tag schema index.
      const signature = await rawManifest(url, 'copies/app', `sha256-${digest.slice(7)}.sig`);
      expect(signature.layers).toEqual([
        expect.objectContaining({ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json' }),
      ]);
      const index = await rawManifest(url, 'copies/app', `sha256-${digest.slice(7)}`);
      expect(index.manifests).toEqual([
        expect.objectContaining({ digest: bundleReferrer, artifactType: BUNDLE }),
      ]);

      // The signatures name the repository they were made for: verified as such, they are valid …
      const identity = `${registry.host}/signed/app`;
      const verified = await runCli(['verify', `${destination}:1`, '--identity', identity], env);
      expect(verified.stdout).toBe(
        `valid: ${destination}@${digest}: signed by release for ${identity}@${digest}\n` +
          `valid: ${destination}@${digest}: bundle signed by release for ${identity}@${digest}\n`,
      );
      expect(verified.code).toBe(0);
      // … and for the copy's own repository they are refused: they are the copied ones, not new.
      const own = await runCli(['verify', `${destination}:1`], env);
      expect(own.code).toBe(1);
      expect(own.stdout).toContain('refused (OTHER_REPOSITORY)');

      // The policy takes the copy where signed_identity says where it comes from.
      const trusting = await config(`trusting-${host}`, {
        content_trust: 'cosign',
        remote_servers: { [`${host}/copies`]: { signed_identity: identity } },
      });
      const pulled = await runCli(['pull', `${destination}:1`], trusting);
      expect(pulled.stderr).toBe('');
      expect(pulled.code).toBe(0);
      const strict = await config(`strict-${host}`, { content_trust: 'cosign' });
      const refused = await runCli(['pull', `${destination}:1`], strict);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`for the repository ${identity}, not ${host}/copies/app`);
    });
  }

  it('--referrers is refused with a destination that keeps no referrers, before anything is copied', async () => {
    const result = await runCli(
      ['copy', '--referrers', `${source}:1`, `oci:${join(work, 'layout-copy')}:1`],
      env,
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('--referrers needs a registry destination');
    await expect(access(join(work, 'layout-copy'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
