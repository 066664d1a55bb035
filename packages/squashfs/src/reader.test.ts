import {
  closeSync,
  cpSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, describe, expect, it } from 'vitest';
import { openSquashfs, type SquashfsEntry, SquashfsError } from './index.js';
import { xzBlocks } from './testing/compare.js';
import { pseudoRandom } from './testing/corpus.js';
import { exec, FIXTURES, run, tempDir } from './testing/peers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const fixture = (name: string) => join(FIXTURES, 'squashfs-concil', name);
/** The xz filter id of the x86 branch converter (BCJ). */
const XZ_FILTER_X86 = 0x04;

async function content(image: string, path: string): Promise<Buffer> {
  const r = await openSquashfs(image);
  try {
    return await buffer(r.readFile(path));
  } finally {
    r.close();
  }
}

async function entries(image: string): Promise<SquashfsEntry[]> {
  const r = await openSquashfs(image);
  try {
    return r.list();
  } finally {
    r.close();
  }
}

describe('openSquashfs reads the fixtures made by squashfs-tools', () => {
  for (const name of ['test_plain.sqfs', 'test_plain_zstd.sqfs', 'test_xattr.sqfs', 'test_xattr_zstd.sqfs']) {
    it(`${name}: ./a/, ./a/b and ./c (4 inodes)`, async () => {
      const list = await entries(fixture(name));
      expect(list.map((e) => [e.path, e.type])).toEqual([
        ['', 'directory'],
        ['a', 'directory'],
        ['a/b', 'file'],
        ['c', 'file'],
      ]);
      expect(await content(fixture(name), 'a/b')).toEqual(Buffer.from('hello\n'));
      expect(await content(fixture(name), 'c')).toEqual(Buffer.from('world\n'));
      const c = list.find((e) => e.path === 'c')!;
      expect(c).toMatchObject({ mode: 0o664, uid: 1001, gid: 1001, size: 6, nlink: 1 });
      if (name.startsWith('test_xattr')) {
        // As rdsquashfs -x reports: only ./c carries the attribute.
        expect(c.xattrs).toEqual({ 'user.test': Buffer.from('test value') });
        expect(list.filter((e) => e.path !== 'c').every((e) => Object.keys(e.xattrs).length === 0)).toBe(
          true,
        );
      } else {
        expect(list.every((e) => Object.keys(e.xattrs).length === 0)).toBe(true);
      }
    });
  }

  it('test_no_fragment.sqfs: ./large_file of 130 KiB stored without fragments', async () => {
    const list = await entries(fixture('test_no_fragment.sqfs'));
    expect(list.map((e) => e.path)).toEqual(['', 'large_file']);
    const data = await content(fixture('test_no_fragment.sqfs'), 'large_file');
    expect(data.length).toBe(130 * 1024);
    const x = await exec('unsquashfs', ['-cat', fixture('test_no_fragment.sqfs'), 'large_file'], {
      encoding: 'buffer',
    });
    expect(x.stdout.equals(data)).toBe(true);
  });

  it('test_large_inode.sqfs: ./large_sparse_file, 8 MiB of holes', async () => {
    const list = await entries(fixture('test_large_inode.sqfs'));
    expect(list.find((e) => e.path === 'large_sparse_file')?.size).toBe(8 * 1024 * 1024);
    const data = await content(fixture('test_large_inode.sqfs'), 'large_sparse_file');
    expect(data.length).toBe(8 * 1024 * 1024);
    expect(data.every((b) => b === 0)).toBe(true);
  });

  it('test_long_symlink.sqfs: ./long_symlink with an 8100-character target', async () => {
    const list = await entries(fixture('test_long_symlink.sqfs'));
    const link = list.find((e) => e.path === 'long_symlink')!;
    expect(link.type).toBe('symlink');
    expect(link.linkTarget).toHaveLength(8100);
    const ref = await run('unsquashfs', ['-lln', fixture('test_long_symlink.sqfs')]);
    expect(ref.stdout).toContain(`-> ${link.linkTarget}`);
  });

  it('test_large_dir.sqfs: 400 files ./file_0 … ./file_399 in the root', async () => {
    const list = await entries(fixture('test_large_dir.sqfs'));
    const names = list.filter((e) => e.path !== '').map((e) => e.path);
    expect(names).toHaveLength(400);
    expect(new Set(names)).toEqual(new Set(Array.from({ length: 400 }, (_, i) => `file_${i}`)));
  });
});

describe('openSquashfs reads images made by mksquashfs and tar2sqfs', () => {
  const src = join(tmp.dir, 'tree');
  mkdirSync(join(src, 'dir/sub'), { recursive: true });
  writeFileSync(join(src, 'dir/small'), 'small file\n');
  writeFileSync(join(src, 'dir/sub/big'), pseudoRandom(700_000, 21, true));
  writeFileSync(join(src, 'random'), pseudoRandom(150_000, 22));
  writeFileSync(join(src, 'empty'), '');
  symlinkSync('dir/small', join(src, 'link'));
  const expected = new Map<string, Buffer>([
    ['dir/small', Buffer.from('small file\n')],
    ['dir/sub/big', pseudoRandom(700_000, 21, true)],
    ['random', pseudoRandom(150_000, 22)],
    ['empty', Buffer.alloc(0)],
  ]);

  async function checkTree(image: string, extra: string[] = []): Promise<void> {
    const list = await entries(image);
    expect(list.map((e) => e.path).sort()).toEqual(
      ['', 'dir', 'dir/small', 'dir/sub', 'dir/sub/big', 'empty', 'link', 'random', ...extra].sort(),
    );
    expect(list.find((e) => e.path === 'link')?.linkTarget).toBe('dir/small');
    for (const [path, data] of expected) expect((await content(image, path)).equals(data)).toBe(true);
  }

  for (const comp of ['gzip', 'zstd', 'xz', 'lz4']) {
    it(`mksquashfs -comp ${comp}`, async () => {
      const image = join(tmp.dir, `mk-${comp}.sqfs`);
      const r = await run('mksquashfs', [src, image, '-comp', comp, '-noappend', '-no-progress', '-quiet']);
      expect(r.code).toBe(0);
      await checkTree(image);
    });

    it(`tar2sqfs -c ${comp} (4 KiB blocks)`, async () => {
      const image = join(tmp.dir, `t2s-${comp}.sqfs`);
      const r = await run('sh', [
        '-c',
        `tar -C '${src}' -cf - . | tar2sqfs -q -f -c ${comp} -b 4096 '${image}'`,
      ]);
      expect(r.code).toBe(0);
      await checkTree(image);
    });
  }

  it('mksquashfs -comp xz -Xbcj x86,arm: blocks that went through the x86 filter decode too', async () => {
    // Machine code from the running node binary's text section, where the x86 filter pays off.
    const code = Buffer.alloc(512 * 1024);
    const fd = openSync(process.execPath, 'r');
    readSync(fd, code, 0, code.length, 8 << 20);
    closeSync(fd);
    const bcjSrc = join(tmp.dir, 'bcj-tree');
    cpSync(src, bcjSrc, { recursive: true, verbatimSymlinks: true });
    writeFileSync(join(bcjSrc, 'code'), code);
    const image = join(tmp.dir, 'mk-xz-bcj.sqfs');
    const args = ['-comp', 'xz', '-Xbcj', 'x86,arm', '-noappend', '-no-progress', '-quiet'];
    expect((await run('mksquashfs', [bcjSrc, image, ...args])).code).toBe(0);
    expect((await run('unsquashfs', ['-s', image])).stdout).toMatch(/Filters selected: x86, arm/);
    // mksquashfs keeps, per block, whichever filter compressed best.
    expect(xzBlocks(readFileSync(image)).some((b) => b.filters[0] === XZ_FILTER_X86)).toBe(true);
    expect((await content(image, 'code')).equals(code)).toBe(true);
    await checkTree(image, ['code']);
  });

  for (const comp of ['lzo']) {
    it(`refuses an ${comp} image with COMPRESSOR_UNAVAILABLE`, async () => {
      const image = join(tmp.dir, `mk-${comp}.sqfs`);
      expect(
        (await run('mksquashfs', [src, image, '-comp', comp, '-noappend', '-no-progress', '-quiet'])).code,
      ).toBe(0);
      const err = await openSquashfs(image).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SquashfsError);
      expect(err).toMatchObject({ code: 'COMPRESSOR_UNAVAILABLE' });
      expect((err as Error).message).toContain(`compressor ${comp} is not available`);
    });
  }
});
