import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFixtureLayout, pushFixture, startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './test/run-cli.js';

const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'packages', 'trust', 'test-fixtures', 'cosign');
let registry: TestRegistry;
let work: string;
let env: Record<string, string>;
let image: string;
let digest: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-e2e-sign-'));
  registry = await startRegistry();
  const layout = await buildFixtureLayout(join(work, 'layout'));
  await pushFixture(layout.dir, `${registry.host}/signed/app:1`, { format: 'oci' });
  await pushFixture(layout.dir, `${registry.host}/signed/unsigned:1`, { format: 'oci' });
  const config = join(work, 'config.json');
  await writeFile(
    config,
    JSON.stringify({ cosign_path: join(work, 'keys'), cache_dir: join(work, 'cache') }),
  );
  env = { CONCIL_CONFIG: config, COSIGN_PASSWORD: 'pw' };
  image = `docker://${registry.host}/signed/app`;
  digest = (await runCli(['digest', `${image}:1`])).stdout.trim();
});

afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('concil sign and verify', () => {
  it('generates a key, signs by tag, and verify names the signer', async () => {
    const generated = await runCli(['config', 'cosign-generate-key', 'release'], env);
    expect(generated.stderr).toBe('');
    expect(generated.stdout).toMatch(
      new RegExp(
        `^generated release \\([0-9a-f]{64}\\): ${join(work, 'keys', 'release.key')}, ${join(work, 'keys', 'release.pub')}\\n$`,
      ),
    );
    const signed = await runCli(['sign', `${image}:1`, '--key', 'release'], env);
    expect(signed.stderr).toBe('');
    expect(signed.stdout).toBe(
      `signed ${image}@${digest} with release (${image}:sha256-${digest.slice(7)}.sig, 1 signatures)\n`,
    );
    const verified = await runCli(['verify', `${image}:1`], env);
    expect(verified).toEqual({
      code: 0,
      stdout: `valid: ${image}@${digest}: signed by release for ${registry.host}/signed/app@${digest}\n`,
      stderr: '',
    });
  });

  it('verify --json reports each signature; --key FILE trusts that key only (exit 1: another key)', async () => {
    const json = await runCli(['verify', `${image}@${digest}`, '--json'], env);
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout);
    expect(result).toMatchObject({ image: `${image}@${digest}`, signed: true, verified: true });
    expect(result.signatures[0].signer.name).toBe('release');
    const other = await runCli(['verify', `${image}:1`, '--key', join(FIXTURES, 'cosign.pub')], env);
    expect(other.code).toBe(1);
    expect(other.stdout).toBe(
      `refused (KEY_UNKNOWN): ${image}@${digest}: no trusted key (${join(FIXTURES, 'cosign.pub')}) verifies the signature: another key made it, or the payload was altered\n`,
    );
  });

  it('an unsigned image: exit 1', async () => {
    const unsigned = `docker://${registry.host}/signed/unsigned`;
    const result = await runCli(['verify', `${unsigned}:1`], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      `unsigned: ${unsigned}@${digest}: no cosign signature under the tag sha256-${digest.slice(7)}.sig, no Sigstore bundle among its referrers\n`,
    );
  });

  it('a wrong password: KEY_PASSWORD_WRONG, nothing signed, no password in the message', async () => {
    const before = await runCli(['verify', `${image}:1`, '--json'], env);
    const result = await runCli(['sign', `${image}:1`, '--key', 'release'], {
      ...env,
      COSIGN_PASSWORD: 'not-the-password',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `concil: ${join(work, 'keys', 'release.key')}: the password does not open this private key; give the right one (COSIGN_PASSWORD, a password file or the prompt) [KEY_PASSWORD_WRONG]\n`,
    );
    const after = await runCli(['verify', `${image}:1`, '--json'], env);
    expect(JSON.parse(after.stdout).signatures).toEqual(JSON.parse(before.stdout).signatures);
  });

  it('imports, lists and exports keys; a second key adds a signature and keeps the first', async () => {
    const imported = await runCli(
      ['config', 'cosign-import-key', 'upstream', join(FIXTURES, 'cosign.pub')],
      env,
    );
    expect(imported.stdout).toMatch(/^imported upstream \([0-9a-f]{64}, public key\)\n$/);
    await runCli(['config', 'cosign-generate-key', 'second', '--password-file', '/dev/null'], env);
    const listed = await runCli(['config', 'cosign-list-keys', '--json'], env);
    expect(
      JSON.parse(listed.stdout).keys.map((k: { id: string; hasPrivateKey: boolean }) => [
        k.id,
        k.hasPrivateKey,
      ]),
    ).toEqual([
      ['release', true],
      ['second', true],
      ['upstream', false],
    ]);
    const exported = join(work, 'release.pub');
    await runCli(['config', 'cosign-export-key', 'release', exported], env);
    expect(await readFile(exported, 'utf8')).toBe(await readFile(join(work, 'keys', 'release.pub'), 'utf8'));

    const signed = await runCli(
      ['sign', `${image}@${digest}`, '--key', 'second', '--password-file', '/dev/null'],
      env,
    );
    expect(signed.stdout).toContain(', 2 signatures)\n');
    const verified = await runCli(['verify', `${image}:1`], env);
    expect(verified.code).toBe(0);
    expect(verified.stdout.split('\n').filter(Boolean)).toEqual([
      `valid: ${image}@${digest}: signed by release for ${registry.host}/signed/app@${digest}`,
      `valid: ${image}@${digest}: signed by second for ${registry.host}/signed/app@${digest}`,
    ]);
  });
});

describe('JSON output of sign, verify and the key commands (as the root README documents)', () => {
  const keysOf = (value: unknown) => Object.keys(value as object).sort();

  it('has the documented fields', async () => {
    const jsonEnv = { ...env, CONCIL_CONFIG: join(work, 'json-config.json') };
    await writeFile(jsonEnv.CONCIL_CONFIG, JSON.stringify({ cosign_path: join(work, 'json-keys') }));
    const run = async (args: string[]) => {
      const result = await runCli([...args, '--json'], jsonEnv);
      expect(result.stderr, args.join(' ')).toBe('');
      return JSON.parse(result.stdout);
    };
    expect(keysOf(await run(['config', 'cosign-generate-key', 'k']))).toEqual([
      'fingerprint',
      'id',
      'privateKey',
      'publicKey',
    ]);
    expect(keysOf(await run(['config', 'cosign-import-key', 'up', join(FIXTURES, 'cosign2.pub')]))).toEqual([
      'fingerprint',
      'hasPrivateKey',
      'id',
    ]);
    expect(await run(['config', 'cosign-export-key', 'k', join(work, 'k.pub')])).toEqual({
      id: 'k',
      file: join(work, 'k.pub'),
      private: false,
    });
    const listed = await run(['config', 'cosign-list-keys']);
    expect(keysOf(listed)).toEqual(['directory', 'keys']);
    expect(keysOf(listed.keys[0])).toEqual(['fingerprint', 'hasPrivateKey', 'id']);
    const signed = await run(['sign', `${image}:1`, '--key', 'k']);
    expect(keysOf(signed)).toEqual(['image', 'signatureManifest', 'signatures', 'tag']);
    const verified = await run(['verify', `${image}:1`, '--key', 'k']);
    expect(keysOf(verified)).toEqual([
      'identity',
      'image',
      'manifestDigest',
      'signatures',
      'signed',
      'tag',
      'verified',
    ]);
    const valid = verified.signatures.find((s: { valid: boolean }) => s.valid);
    expect(keysOf(valid)).toEqual(['layerDigest', 'message', 'payload', 'signer', 'valid']);
    expect(keysOf(valid.signer)).toEqual(['fingerprint', 'name']);
    expect(keysOf(valid.payload)).toEqual(['dockerReference', 'manifestDigest', 'optional']);
  });
});
