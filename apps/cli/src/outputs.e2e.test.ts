import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type FixtureLayout, startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureRegistry, startFixtureRegistry } from './test/fixture-registry.js';
import { runCli } from './test/run-cli.js';

let setup: FixtureRegistry;
let registry: TestRegistry;
let locked: TestRegistry;
let work: string;
let multi: FixtureLayout;
let single: string;
let index: string;

beforeAll(async () => {
  [setup, locked] = await Promise.all([startFixtureRegistry(), startRegistry({ auth: 'basic' })]);
  ({ registry, work, multi } = setup);
  single = `docker://${registry.host}/skopeo/oci:1`;
  index = `docker://${registry.host}/skopeo/index:1`;
}, 120_000);

afterAll(() => Promise.all([setup?.stop(), locked?.stop()]));

describe('what concil prints says what happened', () => {
  it('prints its version', async () => {
    const { version } = JSON.parse(await readFile(join(import.meta.dirname, '..', 'package.json'), 'utf8'));
    for (const flag of ['--version', '-V']) {
      expect(await runCli([flag])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    }
  });

  it('names the destination with its tag in the copy summary', async () => {
    const result = await runCli(['copy', single, `docker://${registry.host}/concil/summary:7`]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(`^copied sha256:[0-9a-f]{64} to docker://${registry.host}/concil/summary:7: 0 blobs`),
    );
  });

  it('prints nothing on success with -q, as skopeo copy -q', async () => {
    const result = await runCli(['copy', '-q', single, `docker://${registry.host}/concil/quiet:1`]);
    expect(result).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  it('lists an index as an index: its platforms, and which one is shown', async () => {
    const arm = multi.images.find((image) => image.platform.startsWith('linux/arm64'));
    const amd = multi.images.find((image) => image.platform === 'linux/amd64');
    const text = await runCli(['list', '--platform', 'linux/arm64', index]);
    expect(text.code).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toMatch(/^index: +sha256:[0-9a-f]{64}$/);
    expect(lines[1]).toMatch(/^platforms: +linux\/amd64, linux\/arm64\/v8 \(shown\)$/);
    expect(lines[2]).toBe(`digest:       ${arm?.manifest.digest}`);

    const json = JSON.parse((await runCli(['list', '--json', '--platform', 'linux/arm64', index])).stdout);
    expect(json.index.platforms).toEqual([
      { platform: 'linux/amd64', digest: amd?.manifest.digest, shown: false },
      { platform: 'linux/arm64/v8', digest: arm?.manifest.digest, shown: true },
    ]);
    expect(json.descriptor.digest).toBe(arm?.manifest.digest);

    const plain = await runCli(['list', single]);
    expect(plain.stdout).toMatch(/^digest: /);
    expect(JSON.parse((await runCli(['list', '--json', single])).stdout).index).toBeUndefined();
  });

  it('refuses --all with --platform instead of ignoring --platform', async () => {
    const dir = join(work, 'all-and-platform');
    const result = await runCli(['copy', '--all', '--platform', 'linux/arm64', index, dir]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')[0]).toBe(
      "error: option '--all' cannot be used with option '--platform <os/arch[/variant]>'",
    );
    await expect(stat(dir)).rejects.toThrow(/ENOENT/);
  });

  it('names the image and the blob when the destination registry wants credentials', async () => {
    const dir = join(work, 'to-push');
    expect((await runCli(['copy', single, dir])).code).toBe(0);
    const result = await runCli(['copy', dir, `docker://${locked.host}/team/app:3`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^concil: ${locked.host} requires authentication for docker://${locked.host}/team/app:3 \\(while asking for blob sha256:[0-9a-f]{64}\\); .* \\[UNAUTHORIZED\\]\\n$`,
      ),
    );
  });

  it('suggests docker:// for a source that is a bare word and no path on disk', async () => {
    const dir = join(work, 'from-a-word');
    const result = await runCli(['copy', 'alpine', dir]);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'concil: dir:alpine: no such directory; for the image alpine in a registry, write docker://alpine [NOT_FOUND]\n',
    });
    await expect(stat(dir)).rejects.toThrow(/ENOENT/);
  });

  it('cache ls leaves what a killed pull left, for cache gc to remove and count', async () => {
    const config = join(work, 'cache-config.json');
    await writeFile(config, JSON.stringify({ cache_dir: join(work, 'cache') }));
    const env = { CONCIL_CONFIG: config };
    expect((await runCli(['cache', 'ls'], env)).code).toBe(0);
    const leftover = join(work, 'cache', 'store', 'tmp', '999999999-abcdef.blob');
    await mkdir(join(leftover, '..'), { recursive: true });
    await writeFile(leftover, 'partial');
    expect((await runCli(['cache', 'ls'], env)).stdout).toMatch(/holds no image/);
    expect(await runCli(['cache', 'gc'], env)).toEqual({
      code: 0,
      stdout: 'removed 1 files, freed 7 B\n',
      stderr: '',
    });
    await expect(stat(leftover)).rejects.toThrow(/ENOENT/);
  });
});

describe('a failed --json command prints a JSON error object on stdout', () => {
  it('names the reference of a registry error', async () => {
    const result = await runCli(['list', '--json', `docker://${registry.host}/skopeo/oci:nope`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      error: {
        code: 'MANIFEST_UNKNOWN',
        message: `docker://${registry.host}/skopeo/oci:nope: tag not found (MANIFEST_UNKNOWN); check the tag with \`concil tags\``,
        reference: `docker://${registry.host}/skopeo/oci:nope`,
      },
    });
  });

  it('names the path of a missing image directory', async () => {
    const missing = join(work, 'missing', 'image');
    const result = await runCli(['copy', '--json', missing, join(work, 'never')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    const { error } = JSON.parse(result.stdout);
    expect(error).toMatchObject({ code: 'NOT_FOUND', path: missing });
    expect(error.message).toContain(missing);
  });

  it('names the path of a squashfs image that is not there', async () => {
    const missing = join(work, 'missing.sqfs');
    const result = await runCli(['squashfs', 'ls', '--json', missing]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout).error).toMatchObject({ code: 'NOT_FOUND', path: missing });
  });

  it('reports a usage error as one too', async () => {
    const result = await runCli([
      'copy',
      '--json',
      '--all',
      '--platform',
      'linux/arm64',
      index,
      join(work, 'x'),
    ]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      error: {
        code: 'USAGE',
        message: "option '--all' cannot be used with option '--platform <os/arch[/variant]>'",
      },
    });
  });
});
