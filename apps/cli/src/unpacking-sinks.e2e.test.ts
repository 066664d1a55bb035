import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildFixtureLayout, type FixtureLayout } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './test/run-cli.js';

const run = promisify(execFile);
let work: string;
let fixture: FixtureLayout;
let source: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-mount-'));
  fixture = await buildFixtureLayout(join(work, 'layout'));
  source = `oci:${fixture.dir}:${fixture.tag}`;
});
afterAll(async () => {
  await run('umount', [join(work, 'mnt')]).catch(() => undefined);
  await rm(work, { recursive: true, force: true });
});

describe('concil copy into the unpacking sinks', () => {
  it('writes a bundle, and an extracted image that is read back with its diff_ids', async () => {
    expect(await runCli(['copy', '-q', source, `bundle:${join(work, 'bundle')}`])).toMatchObject({ code: 0 });
    const config = JSON.parse(await readFile(join(work, 'bundle', 'config.json'), 'utf8'));
    expect(config.process.args).toEqual(['/bin/hello', '--from', 'fixture']);
    expect(await readFile(join(work, 'bundle', 'rootfs', 'etc', 'added.txt'), 'utf8')).toBe(
      'added by layer 2\n',
    );

    const extracted = `extracted:${join(work, 'extracted')}:fixture:1`;
    expect(await runCli(['copy', '-q', source, extracted])).toMatchObject({ code: 0 });
    const archive = join(work, 'rebuilt.tar');
    expect(await runCli(['copy', '-q', extracted, `docker-archive:${archive}`])).toMatchObject({ code: 0 });
    const { stdout } = await run('skopeo', ['inspect', '--config', `docker-archive:${archive}`]);
    expect(JSON.parse(stdout).rootfs.diff_ids).toEqual(fixture.images[0]!.diffIds);
  });
});

describe.each([[[]], [['--squashfs']]])('concil copy %j … mounts:, concil mount / umount', (flags) => {
  it('mounts the overlay of the layers, whiteouts applied, and unmounts it', async () => {
    const dir = join(work, `mounts${flags.join('')}`);
    expect(await runCli(['copy', '-q', ...flags, source, `mounts:${dir}`])).toMatchObject({ code: 0 });
    const layers = await readdir(join(dir, 'layers', 'sha256'));
    expect(layers.every((name) => name.endsWith('.squashfs') === flags.length > 0)).toBe(true);
    const target = join(work, 'mnt');
    await mkdir(target, { recursive: true });

    expect(await runCli(['mount', dir, target])).toMatchObject({ code: 0, stderr: '' });
    expect(await readFile(join(target, 'etc', 'added.txt'), 'utf8')).toBe('added by layer 2\n');
    expect(await readdir(join(target, 'var', 'cache'))).toEqual(['new.txt']);
    expect(await readdir(join(target, 'etc'))).not.toContain('removed-later.txt');

    expect(await runCli(['umount', target])).toMatchObject({ code: 0, stderr: '' });
    expect(await readdir(target)).toEqual([]);
    expect(await readFile('/proc/self/mountinfo', 'utf8')).not.toContain(work);
  });
});

describe('concil mount / umount, bad input', () => {
  it('says in one line what is wrong with a directory mounts: did not write', async () => {
    const result = await runCli(['mount', join(work, 'layout'), join(work, 'nowhere')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `concil: ${join(work, 'layout')} holds no mounts.json: it is not a directory written by mounts:DIR [NOT_FOUND]\n`,
    );
    expect(await runCli(['umount', join(work, 'layout')])).toMatchObject({
      code: 1,
      stderr: `concil: ${join(work, 'layout')} is not an overlay mount point; nothing was unmounted [NOT_FOUND]\n`,
    });
  });
});
