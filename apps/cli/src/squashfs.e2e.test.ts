import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { mountReadOnly } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './test/run-cli.js';

const run = promisify(execFile);
let work: string;
let layer: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-squashfs-'));
  await mkdir(join(work, 'tree', 'etc'), { recursive: true });
  await writeFile(join(work, 'tree', 'etc', 'hostname'), 'concil\n');
  await writeFile(join(work, 'tree', 'data'), Buffer.alloc(300_000, 'layer data '));
  layer = join(work, 'layer.tar.gz');
  await run('tar', ['-C', join(work, 'tree'), '-czf', layer, '.']);
});

afterAll(() => rm(work, { recursive: true, force: true }));

describe('concil squashfs', () => {
  it('creates an xz image that unsquashfs extracts to the same tree, and lists it', async () => {
    const image = join(work, 'layer.sqfs');
    const created = await runCli(['squashfs', 'create', '--compressor', 'xz', '--level', '9', layer, image]);
    expect(created.code).toBe(0);
    expect(created.stderr).toMatch(/, xz\n$/);
    expect((await run('unsquashfs', ['-s', image])).stdout).toMatch(/Compression xz/);
    const extracted = join(work, 'extracted');
    await run('unsquashfs', ['-q', '-d', extracted, image]);
    await run('diff', ['-r', join(work, 'tree'), extracted]); // rejects on any difference
    const listed = await runCli(['squashfs', 'ls', image]);
    expect(listed.stdout).toMatch(/ \/etc\/hostname\n/);
  });

  it('reports a write the system refuses (file too large) in one line, leaving the destination as it was', async () => {
    const dir = join(work, 'refused');
    await mkdir(dir);
    const image = join(dir, 'layer.sqfs');
    await writeFile(image, 'an older image');
    const random = join(work, 'random.tar');
    await writeFile(join(work, 'tree-random'), randomBytes(2_000_000));
    await run('tar', ['-C', work, '-cf', random, 'tree-random']);
    // ulimit -f counts 1024-byte blocks in bash: a 2 MB image cannot be written under 512 KiB.
    const result = await runCli(['squashfs', 'create', random, image], {}, { fileSizeLimitKiB: 512 });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `concil squashfs: cannot write the image: EFBIG: file too large, write (${image}) [WRITE_FAILED]\n`,
    );
    expect(await readdir(dir)).toEqual(['layer.sqfs']);
    expect(await readFile(image, 'utf8')).toBe('an older image');
  });

  it('extracts a tar that appears only once complete: a damaged image leaves the destination as it was', async () => {
    const dir = join(work, 'extract');
    await mkdir(dir);
    const image = join(dir, 'layer.sqfs');
    expect((await runCli(['squashfs', 'create', layer, image])).code).toBe(0);
    const good = join(dir, 'good.tar');
    expect((await runCli(['squashfs', 'extract', image, good])).code).toBe(0);
    expect((await run('tar', ['-tf', good])).stdout).toMatch(/^etc\/hostname$/m);
    // Cut the image short: its tables are gone.
    const damaged = join(dir, 'damaged.sqfs');
    await writeFile(damaged, (await readFile(image)).subarray(0, 200));
    const destination = join(dir, 'out.tar');
    await writeFile(destination, 'an older tar');
    const result = await runCli(['squashfs', 'extract', damaged, destination]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^concil squashfs: corrupt squashfs image: .* \[CORRUPT_IMAGE\]\n$/);
    expect(await readFile(destination, 'utf8')).toBe('an older tar');
    expect((await readdir(dir)).sort()).toEqual(['damaged.sqfs', 'good.tar', 'layer.sqfs', 'out.tar']);
  });

  it('reports a read-only output directory as READ_ONLY in one line, naming the image or the tar', async () => {
    const readOnly = await mountReadOnly();
    try {
      const image = join(readOnly.path, 'layer.sqfs');
      const result = await runCli(['squashfs', 'create', layer, image]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        new RegExp(
          `^concil squashfs: cannot create the image next to its final name: EROFS: read-only file system, open '[^']+' \\(${image}\\) \\[READ_ONLY\\]\n$`,
        ),
      );
      const extracted = await runCli([
        'squashfs',
        'extract',
        join(work, 'layer.sqfs'),
        join(readOnly.path, 'out.tar'),
      ]);
      expect(extracted.stderr).toMatch(
        new RegExp(
          `^concil: cannot write ${readOnly.path}/out.tar: the file system is read-only .*\\[READ_ONLY\\]\n$`,
        ),
      );
      expect(await readdir(readOnly.path)).toEqual([]);
    } finally {
      await readOnly.unmount();
    }
  });

  it('reports an image it cannot open in one line when extracting to standard output', async () => {
    const missing = join(work, 'no-such.sqfs');
    const result = await runCli(['squashfs', 'extract', missing, '-']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `concil squashfs: cannot open squashfs image: ENOENT: no such file or directory, open '${missing}' (${missing}) [NOT_FOUND]\n`,
    );
  });

  it('refuses an xz level outside 0-9 in one line', async () => {
    const result = await runCli([
      'squashfs',
      'create',
      '--compressor',
      'xz',
      '--level',
      '12',
      layer,
      join(work, 'x'),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'concil squashfs: xz level must be an integer from 0 to 9, got 12 [BAD_OPTION]\n',
    );
  });
});
