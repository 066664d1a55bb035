import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildFixtureLayout, pushFixture, startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './test/run-cli.js';

const run = promisify(execFile);
let registry: TestRegistry;
let work: string;
let env: Record<string, string>;
let image: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-e2e-json-'));
  registry = await startRegistry();
  const layout = await buildFixtureLayout(join(work, 'layout'));
  image = `docker://${registry.host}/app:1`;
  await pushFixture(layout.dir, image, { format: 'oci' });
  env = { CONCIL_CONFIG: join(work, 'config.json') };
  await writeFile(env.CONCIL_CONFIG!, JSON.stringify({ cache_dir: join(work, 'cache') }));
});

afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

async function json(args: string[]): Promise<unknown> {
  const result = await runCli([...args, '--json'], env);
  expect(result.stderr, args.join(' ')).toBe('');
  expect(result.code, args.join(' ')).toBe(0);
  return JSON.parse(result.stdout);
}

/** The fields, in any order (a pull served from the cache orders them differently). */
const keysOf = (value: unknown) => Object.keys(value as object).sort();

describe('--json never prints credentials', () => {
  it('names a source given with user:pass@ without them', async () => {
    const withCreds = image.replace('docker://', 'docker://someone:s3cret-word@');
    const result = (await json(['copy', withCreds, join(work, 'creds-dir')])) as { source: string };
    expect(result.source).toBe(image);
    expect(JSON.stringify(result)).not.toContain('s3cret-word');
  });
});

/** The shapes the README's "JSON output" section documents, command by command. */
describe('--json prints the documented shape', () => {
  it('copy, list, pull, cache, config', async () => {
    const dir = join(work, 'dir');
    expect(keysOf(await json(['copy', image, dir]))).toEqual(
      [
        'source',
        'destination',
        'descriptor',
        'blobsCopied',
        'blobsSkipped',
        'blobsMounted',
        'bytesCopied',
        'layersTransformed',
      ].sort(),
    );
    expect(keysOf(await json(['list', dir]))).toEqual(['descriptor', 'manifest', 'config'].sort());
    expect(keysOf(await json(['pull', image]))).toEqual(
      [
        'reference',
        'root',
        'manifestDescriptor',
        'manifestPath',
        'configDescriptor',
        'configPath',
        'layers',
        'platform',
        'fromCache',
        'blobsCopied',
        'bytesCopied',
      ].sort(),
    );
    const cached = (await json(['cache', 'ls'])) as unknown[];
    expect(cached.map(keysOf)).toEqual([['reference', 'digest', 'size', 'lastUsed', 'resolvedAt'].sort()]);
    expect(keysOf(await json(['cache', 'verify']))).toEqual(['checked', 'problems'].sort());
    for (const command of ['gc', 'prune']) {
      expect(keysOf(await json(['cache', command]))).toEqual(
        ['removedFiles', 'freedBytes', 'removedImages'].sort(),
      );
    }
    expect(keysOf(await json(['config', 'show']))).toEqual(['path', 'exists', 'config'].sort());
    expect(await json(['config', 'path'])).toEqual({ path: env.CONCIL_CONFIG, exists: true });
  });

  it('squashfs create and ls, with the values unsquashfs sees', async () => {
    const tree = join(work, 'tree');
    await run('mkdir', ['-p', join(tree, 'etc')]);
    await writeFile(join(tree, 'etc', 'hostname'), 'concil\n');
    await run('ln', ['-s', 'etc/hostname', join(tree, 'name')]);
    const tar = join(work, 'tree.tar');
    await run('tar', ['-C', tree, '--owner=0', '--group=0', '--mtime=@1704067200', '-cf', tar, '.']);
    const squashfs = join(work, 'tree.sqfs');
    const created = await json(['squashfs', 'create', tar, squashfs]);
    expect(created).toMatchObject({
      image: squashfs,
      inodes: 4,
      files: 1,
      directories: 2,
      compressor: 'gzip',
    });
    expect(keysOf(created)).toEqual(
      [
        'image',
        'bytes',
        'inodes',
        'files',
        'directories',
        'dataBytes',
        'duplicateFiles',
        'fragments',
        'blockSize',
        'compressor',
        'skippedXattrs',
      ].sort(),
    );
    const listed = (await json(['squashfs', 'ls', squashfs])) as Array<Record<string, unknown>>;
    expect(listed.map((entry) => entry.path)).toEqual(['/', '/etc', '/etc/hostname', '/name']);
    expect(listed[2]).toEqual({
      path: '/etc/hostname',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: 7,
      mtime: 1704067200,
      nlink: 1,
    });
    expect(listed[3]).toMatchObject({ type: 'symlink', linkTarget: 'etc/hostname', size: 12 });
  });
});
