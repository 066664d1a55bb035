import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFixtureLayout, type FixtureLayout, startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './test/run-cli.js';

const USER = 'tester';
const PASSWORD = 'secret';
const AUTH = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');

let registry: TestRegistry;
let work: string;
let layout: FixtureLayout;
let env: Record<string, string>;
// A name the configuration sends to the real registry, served below a path.
const image = 'docker://registry.example.com/team/app:1';

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-e2e-'));
  registry = await startRegistry({ auth: 'basic', users: { [USER]: PASSWORD }, prefix: '/some/prefix' });
  layout = await buildFixtureLayout(join(work, 'layout'));
  // As the Python concil reads it: auths as base64 strings, both maps keyed by host name.
  const config = join(work, 'config.json');
  await writeFile(
    config,
    `{
    "cache_dir": "${join(work, 'cache')}",
    "cache_timeout": 604800,
    "disable_content_trust": true,
    "remote_servers": {
        "registry.example.com": {
            "registry": "${registry.url}/some/prefix",
            "notary": "https://notary.example.com"
        }
    },
    "auths": {
        "registry.example.com": "${AUTH}"
    }
}
`,
  );
  env = { CONCIL_CONFIG: config };
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

describe("the Python concil's config: remote_servers with a path, auths as strings", () => {
  it('copy pushes to the address remote_servers names, with the credentials of auths', async () => {
    const pushed = await runCli(['copy', '--json', `oci:${layout.dir}:latest`, image], env);
    expect(pushed.stderr).toBe('');
    expect(pushed.code).toBe(0);
    expect(JSON.parse(pushed.stdout).descriptor.digest).toBe(layout.root.digest);
    // The registry itself, asked below its path, has the manifest under the tag.
    const head = await fetch(`${registry.url}/some/prefix/v2/team/app/manifests/1`, {
      method: 'HEAD',
      headers: { authorization: `Basic ${AUTH}`, accept: layout.root.mediaType },
    });
    expect(head.status).toBe(200);
    expect(head.headers.get('docker-content-digest')).toBe(layout.root.digest);
  });

  it('list reads it from there', async () => {
    const listed = await runCli(['list', '--json', image], env);
    expect(listed.stderr).toBe('');
    expect(JSON.parse(listed.stdout).descriptor.digest).toBe(layout.root.digest);
  });

  it('pull caches it under the name asked for, and copy reads it back from the registry', async () => {
    const pulled = await runCli(['pull', '--json', image], env);
    expect(pulled.stderr).toBe('');
    const result = JSON.parse(pulled.stdout);
    expect(result.reference).toBe('registry.example.com/team/app:1');
    expect(result.manifestDescriptor.digest).toBe(layout.root.digest);

    const copied = await runCli(['copy', '--no-cache', '--json', image, join(work, 'copied')], env);
    expect(copied.stderr).toBe('');
    expect(JSON.parse(copied.stdout).blobsCopied).toBe(3);
  });

  it('config show masks the string credentials', async () => {
    const shown = await runCli(['config', 'show', '--json'], env);
    expect(shown.code).toBe(0);
    const { config } = JSON.parse(shown.stdout);
    expect(config.auths).toEqual({ 'registry.example.com': '***' });
    expect(shown.stdout).not.toContain(AUTH);
    expect(config.remote_servers['registry.example.com'].registry).toBe(`${registry.url}/some/prefix`);
  });
});
