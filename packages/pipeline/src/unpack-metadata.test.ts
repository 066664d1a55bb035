import { lstat, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { copy, OciLayout } from '@concil/image';
import { getAttribute } from '@napi-rs/xattr';
import { describe, expect, it } from 'vitest';
import { Bundle } from './bundle.js';
import { directoryPerTest, rawTar, writeImage } from './testing/image-layout.js';

const work = directoryPerTest();
const MTIME = new Date('2021-06-01T12:00:00Z');

describe('unpacking keeps what the layer says of each entry (as root)', () => {
  it('owners, modes with set-id bits, mtimes, xattrs, hard links, symlinks, devices and fifos', async () => {
    const layer = await rawTar([
      { name: 'bin/', type: 'directory', mode: 0o751, uid: 3, gid: 4, mtime: MTIME },
      { name: 'bin/tool', content: 'tool\n', mode: 0o4755, uid: 1000, gid: 1001, mtime: MTIME },
      { name: 'bin/tool-link', type: 'link', linkname: 'bin/tool' },
      { name: 'bin/up', type: 'symlink', linkname: '../etc/nowhere', uid: 5, gid: 6, mtime: MTIME },
      { name: 'dev/', type: 'directory', mode: 0o755 },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'dev/loop9', type: 'block-device', devmajor: 7, devminor: 9, mode: 0o660 },
      { name: 'dev/pipe', type: 'fifo', mode: 0o620 },
      { name: 'tagged', content: 'x', pax: { 'SCHILY.xattr.user.concil': 'yes' }, mtime: MTIME },
    ]);
    const image = await writeImage(join(work(), 'layout'), [layer], { Cmd: ['/bin/tool'] });
    await copy(new OciLayout(image.layout, 'latest'), new Bundle(join(work(), 'bundle')));
    const root = join(work(), 'bundle', 'rootfs');
    const info = async (path: string) => {
      const s = await lstat(join(root, path));
      return { mode: (s.mode & 0o7777).toString(8), uid: s.uid, gid: s.gid, mtime: s.mtime.toISOString() };
    };

    expect(await info('bin')).toEqual({ mode: '751', uid: 3, gid: 4, mtime: MTIME.toISOString() });
    expect(await info('bin/tool')).toEqual({
      mode: '4755',
      uid: 1000,
      gid: 1001,
      mtime: MTIME.toISOString(),
    });
    const [tool, link] = [await lstat(join(root, 'bin/tool')), await lstat(join(root, 'bin/tool-link'))];
    expect([link.ino, link.nlink]).toEqual([tool.ino, 2]);
    expect(await readlink(join(root, 'bin/up'))).toBe('../etc/nowhere');
    expect(await info('bin/up')).toMatchObject({ uid: 5, gid: 6, mtime: MTIME.toISOString() });
    const nul = await lstat(join(root, 'dev/null'));
    expect([nul.isCharacterDevice(), nul.rdev, (nul.mode & 0o777).toString(8)]).toEqual([true, 0x103, '666']);
    const loop = await lstat(join(root, 'dev/loop9'));
    expect([loop.isBlockDevice(), loop.rdev]).toEqual([true, 0x709]);
    expect((await lstat(join(root, 'dev/pipe'))).isFIFO()).toBe(true);
    expect((await getAttribute(join(root, 'tagged'), 'user.concil'))?.toString()).toBe('yes');
    expect(await readFile(join(root, 'tagged'), 'utf8')).toBe('x');
  });
});
