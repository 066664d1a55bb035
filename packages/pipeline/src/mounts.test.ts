import { execFile } from 'node:child_process';
import { lstat, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { copy, OciLayout } from '@concil/image';
import { buildFixtureLayout } from '@concil/testkit';
import { getAttribute } from '@napi-rs/xattr';
import { afterEach, describe, expect, it } from 'vitest';
import { Mounts } from './mounts.js';
import { mountImage, unmountImage } from './overlay-mount.js';
import { describeTree, directoryPerTest } from './testing/image-layout.js';

const run = promisify(execFile);
const work = directoryPerTest();
afterEach(async () => {
  await run('umount', ['-R', join(work(), 'mnt')]).catch(() => undefined);
});

describe.each([false, true])('mounts: (squashfs %s)', (squashfs) => {
  it('writes each layer with overlay whiteouts; mounted, the overlay shows what umoci unpacks', async () => {
    const fixture = await buildFixtureLayout(join(work(), 'layout'));
    const dir = join(work(), 'mounts');
    await copy(new OciLayout(fixture.dir, fixture.tag), new Mounts(dir, { squashfs }));
    const [base, top] = fixture.images[0]!.layers.map((layer) => layer.digest.slice(7));
    const options = (await readFile(join(dir, 'overlay.options'), 'utf8')).trim();
    const lower = squashfs
      ? [`mnt/sha256-${top}`, `mnt/sha256-${base}`, 'empty']
      : [`layers/sha256/${top}`, `layers/sha256/${base}`, 'empty'];
    expect(options).toBe(`lowerdir=${lower.map((path) => join(dir, path)).join(':')}`);
    if (!squashfs) {
      const upper = join(dir, 'layers', 'sha256', top!);
      const whiteout = await lstat(join(upper, 'etc', 'removed-later.txt'));
      expect([whiteout.isCharacterDevice(), whiteout.rdev]).toEqual([true, 0]);
      expect((await getAttribute(join(upper, 'var', 'cache'), 'trusted.overlay.opaque'))?.toString()).toBe(
        'y',
      );
      expect(await readdir(join(upper, 'var', 'cache'))).toEqual(['new.txt']);
    }

    const target = join(work(), 'mnt');
    await mkdir(target);
    await mountImage(dir, target);
    try {
      await run('umoci', ['unpack', '--image', `${fixture.dir}:${fixture.tag}`, join(work(), 'umoci')]);
      expect(await describeTree(target)).toEqual(await describeTree(join(work(), 'umoci', 'rootfs')));
    } finally {
      await unmountImage(target);
    }
    const mounted = await readFile('/proc/self/mountinfo', 'utf8');
    expect(mounted).not.toContain(work());
  });
});

describe('concil mount', () => {
  it('refuses a directory mounts: did not write, naming it', async () => {
    await expect(mountImage(work(), join(work(), 'x'))).rejects.toMatchObject({
      code: 'NOT_FOUND',
      subject: join(work(), 'mounts.json'),
    });
  });
});
