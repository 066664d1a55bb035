import { execFile } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { convertLayers, copy, OciLayout } from '@concil/image';
import { buildFixtureLayout } from '@concil/testkit';
import { describe, expect, it } from 'vitest';
import { Bundle } from './bundle.js';
import { busyboxImageOutput, runBundle, writeBusyboxImage } from './testing/busybox-image.js';
import { describeTree, directoryPerTest, rawTar, writeImage } from './testing/image-layout.js';

const run = promisify(execFile);
const work = directoryPerTest();

describe('bundle:', () => {
  it('makes the rootfs umoci unpack makes, and a config.json from the image config', async () => {
    const fixture = await buildFixtureLayout(join(work(), 'layout'));
    await copy(new OciLayout(fixture.dir, fixture.tag), new Bundle(join(work(), 'bundle')));
    await run('umoci', ['unpack', '--image', `${fixture.dir}:${fixture.tag}`, join(work(), 'umoci')]);

    expect(await describeTree(join(work(), 'bundle', 'rootfs'))).toEqual(
      await describeTree(join(work(), 'umoci', 'rootfs')),
    );
    const config = JSON.parse(await readFile(join(work(), 'bundle', 'config.json'), 'utf8'));
    expect(config.process).toMatchObject({
      args: ['/bin/hello', '--from', 'fixture'],
      env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'FIXTURE=concil', 'GREETING=hello world'],
      cwd: '/srv',
      user: { uid: 1000, gid: 1000 },
      terminal: false,
    });
    expect(config.root).toEqual({ path: 'rootfs', readonly: false });
    expect(await readdir(join(work(), 'bundle'))).toEqual(['config.json', 'rootfs']);
    expect(await readdir(work())).toEqual(['bundle', 'layout', 'umoci']);
  });

  it('is started by runc run, which prints what the image command says', async () => {
    const image = await writeBusyboxImage(join(work(), 'layout'));
    const bundle = join(work(), 'bundle');
    await copy(new OciLayout(image.layout, 'latest'), new Bundle(bundle));

    const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8'));
    expect(config.process.user).toEqual({ uid: 405, gid: 100, additionalGids: [7] });
    expect(await runBundle(bundle)).toBe(busyboxImageOutput);
  });

  it('unpacks the layers a transform makes (zstd, squashfs) as they are written', async () => {
    const fixture = await buildFixtureLayout(join(work(), 'layout'));
    await run('umoci', ['unpack', '--image', `${fixture.dir}:${fixture.tag}`, join(work(), 'umoci')]);
    const expected = await describeTree(join(work(), 'umoci', 'rootfs'));
    for (const to of ['zstd', 'squashfs'] as const) {
      const bundle = join(work(), `bundle-${to}`);
      const result = await copy(new OciLayout(fixture.dir, fixture.tag), new Bundle(bundle), {
        edit: convertLayers(to),
      });
      expect(result.layersTransformed).toBe(2);
      expect(await describeTree(join(bundle, 'rootfs'))).toEqual(expected);
      expect(await readdir(bundle)).toEqual(['config.json', 'rootfs']);
    }
  });

  it('stacks an image whose layer appears twice as a runtime does (the second occurrence re-adds what it holds)', async () => {
    const again = await rawTar([
      { name: 'etc/', type: 'directory', mode: 0o755 },
      { name: 'etc/motd', content: 'from the repeated layer\n' },
    ]);
    const between = await rawTar([
      { name: 'etc/', type: 'directory', mode: 0o755 },
      { name: 'etc/.wh.motd', content: '' },
      { name: 'etc/between', content: 'kept\n' },
    ]);
    const image = await writeImage(join(work(), 'layout'), [again, between, again], { Cmd: ['/bin/true'] });
    await copy(new OciLayout(image.layout, 'latest'), new Bundle(join(work(), 'bundle')));
    expect(await describeTree(join(work(), 'bundle', 'rootfs'))).toEqual(
      new Map([
        ['etc', 'dir 755'],
        ['etc/between', 'file 644 kept\n'],
        ['etc/motd', 'file 644 from the repeated layer\n'],
      ]),
    );
  });

  it('refuses a directory that holds something, and leaves it as it was', async () => {
    const fixture = await buildFixtureLayout(join(work(), 'layout'));
    const bundle = join(work(), 'bundle');
    await run('mkdir', [bundle]);
    await run('touch', [join(bundle, 'keep')]);
    await expect(copy(new OciLayout(fixture.dir, fixture.tag), new Bundle(bundle))).rejects.toMatchObject({
      code: 'TARGET_INVALID',
    });
    expect(await readdir(bundle)).toEqual(['keep']);
  });
});

describe('bundle: config.json', () => {
  it('runs sh for an image without a command, and resolves users and groups as runc does', async () => {
    const passwd = 'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/srv:/bin/sh\n';
    const group = 'root:x:0:\napp:x:1000:\nstaff:x:50:app,other\nwheel:x:10:app\n';
    const layer = await rawTar([
      { name: 'etc/', type: 'directory', mode: 0o755 },
      { name: 'etc/passwd', content: passwd },
      { name: 'etc/group', content: group },
    ]);
    const cases: [string, object][] = [
      ['', { uid: 0, gid: 0 }],
      ['app', { uid: 1000, gid: 1000, additionalGids: [50, 10] }],
      ['app:staff', { uid: 1000, gid: 50, additionalGids: [10] }],
      ['1000', { uid: 1000, gid: 1000, additionalGids: [50, 10] }],
      ['1234:77', { uid: 1234, gid: 77 }],
      ['app:99', { uid: 1000, gid: 99, additionalGids: [50, 10] }],
    ];
    for (const [i, [user, expected]] of cases.entries()) {
      const image = await writeImage(join(work(), `layout-${i}`), [layer], { User: user });
      const bundle = join(work(), `bundle-${i}`);
      await copy(new OciLayout(image.layout, 'latest'), new Bundle(bundle));
      const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8'));
      expect(config.process.args, user).toEqual(['sh']);
      expect(config.process.user, user).toEqual(expected);
    }
  });

  it('refuses a user or group the image does not know, naming it, and writes nothing', async () => {
    const layer = await rawTar([{ name: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n' }]);
    for (const user of ['nobody', 'root:nogroup']) {
      const image = await writeImage(join(work(), 'layout'), [layer], { User: user, Cmd: ['/bin/true'] });
      const bundle = join(work(), 'bundle');
      const error = await copy(new OciLayout(image.layout, 'latest'), new Bundle(bundle)).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'CONFIG_INVALID', subject: user });
      expect(await readdir(work())).toEqual(['layout']);
      await rm(join(work(), 'layout'), { recursive: true });
    }
  });
});
