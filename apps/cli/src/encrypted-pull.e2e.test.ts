import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import {
  buildFixtureLayout,
  expectedFixtureRootfs,
  type FixtureLayout,
  startRegistry,
  type TestRegistry,
} from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLockedRsaKey } from './test/locked-key.js';
import { runCli } from './test/run-cli.js';

const run = promisify(execFile);
let work: string;
let registry: TestRegistry;
let fixture: FixtureLayout;
/** An image of two squashfs layers encrypted for `team` (`concil copy --squashfs --encryption`). */
let image: string;
let locked: { priv: string; pub: string; password: string };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-cli-encrypted-pull-'));
  registry = await startRegistry();
  fixture = await buildFixtureLayout(join(work, 'source'));
  // A password-protected RSA key, and the image encrypted for it and for a generated EC key.
  locked = await writeLockedRsaKey(work);
  expect((await cli('keys', ['config', 'generate-encryption-key', 'team'])).code).toBe(0);
  image = `docker://${registry.host}/app:enc`;
  const published = await cli('keys', [
    'copy',
    '--squashfs',
    '--encryption',
    keyPath('team.pub.pem'),
    '--encryption',
    locked.pub,
    `oci:${fixture.dir}:latest`,
    image,
  ]);
  expect(published.stderr).toBe('');
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

/** `concil config generate-encryption-key` writes keys/ beside the configuration. */
function keyPath(name: string): string {
  return join(work, 'keys', name);
}

/** Runs concil with a HOME, configuration and cache of `name`'s own. */
async function cli(name: string, args: string[], config: Record<string, unknown> = {}) {
  const home = join(work, `home-${name}`);
  const path = join(work, `config-${name}.json`);
  await writeFile(path, JSON.stringify({ cache_dir: join(work, `cache-${name}`), ...config }));
  return runCli(args, { HOME: home, CONCIL_CONFIG: path });
}

/** Every file in a cache's store, relative to it. */
async function cacheFiles(name: string): Promise<string[]> {
  const root = join(work, `cache-${name}`, 'store');
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort();
}

describe('concil pull of an encrypted image', () => {
  it('--decryption-key: the layers decrypted into squashfs images, no ciphertext in the cache', async () => {
    const pulled = await cli('flag', ['pull', '--json', '--decryption-key', keyPath('team.pem'), image]);
    expect(pulled.stderr).toBe('');
    const result = JSON.parse(pulled.stdout) as {
      manifestDescriptor: { digest: string };
      configDescriptor: { digest: string };
      layers: { descriptor: { mediaType: string; digest: string }; path?: string; squashfsPath: string }[];
    };
    expect(result.layers.map((l) => l.descriptor.mediaType)).toEqual([
      'application/vnd.oci.image.layer.v1.squashfs+encrypted',
      'application/vnd.oci.image.layer.v1.squashfs+encrypted',
    ]);
    let listed = '';
    for (const layer of result.layers) {
      expect(layer.path).toBeUndefined();
      listed += (await run('unsquashfs', ['-lln', layer.squashfsPath])).stdout;
    }
    for (const path of expectedFixtureRootfs().keys()) expect(listed).toContain(`squashfs-root/${path}`);
    const blobs = (await cacheFiles('flag')).filter((file) => file.startsWith('blobs/'));
    expect(blobs).toEqual(
      [result.manifestDescriptor.digest, result.configDescriptor.digest]
        .map((digest) => join('blobs', ...digest.split(':')))
        .sort(),
    );
  });

  it("the configuration's decryption_keys, a locked key opened with --key-password-file", async () => {
    const config = { decryption_keys: [locked.priv] };
    const without = await cli('config', ['pull', image], config);
    expect(without.stderr).toBe(
      `concil: cannot decrypt ${registry.host}/app:enc: the key ${locked.priv} is encrypted: give its password (--key-password-file) [DECRYPTION_FAILED]\n`,
    );
    expect(await cacheFiles('config')).toEqual([]);
    const pulled = await cli('config', ['pull', '--key-password-file', locked.password, image], config);
    expect(pulled.stderr).toBe('');
    expect(pulled.stdout).toMatch(/squashfs\/sha256\/[0-9a-f]{64}\n.*squashfs\/sha256\/[0-9a-f]{64}\n$/);
  });

  it('a key that opens no layer: the error names the layer and the key, and nothing is cached', async () => {
    const other = await cli('other', ['config', 'generate-encryption-key', 'other']);
    expect(other.code).toBe(0);
    const otherKey = keyPath('other.pem');
    const pulled = await cli('other', ['pull', '--decryption-key', otherKey, image]);
    expect(pulled.code).not.toBe(0);
    expect(pulled.stderr).toMatch(
      new RegExp(
        `^concil: cannot decrypt ${registry.host}/app:enc: none of the 1 decryption keys \\(${otherKey}\\) opens layer sha256:[0-9a-f]{64}, which is encrypted for 2 recipients: give the private key of one of them; name its private key in the configuration's "decryption_keys" or give it \\(concil pull --decryption-key KEY\\) \\[DECRYPTION_FAILED\\]\n$`,
      ),
    );
    expect(await cacheFiles('other')).toEqual([]);
  });
});
