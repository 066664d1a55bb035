import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { copy, OciLayout } from '@concil/image';
import { Mounts } from '@concil/pipeline';
import { buildFixtureLayout } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './test/run-cli.js';

const run = promisify(execFile);
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-mount-'));
});
afterAll(async () => {
  await run('umount', [join(work, 'mnt')]).catch(() => undefined);
  await rm(work, { recursive: true, force: true });
});

describe('concil mount / umount', () => {
  it('mounts the overlay of a mounts: directory, whiteouts applied, and unmounts it', async () => {
    const fixture = await buildFixtureLayout(join(work, 'layout'));
    const dir = join(work, 'mounts');
    await copy(new OciLayout(fixture.dir, fixture.tag), new Mounts(dir, { squashfs: true }));
    const target = join(work, 'mnt');
    await mkdir(target);

    expect(await runCli(['mount', dir, target])).toMatchObject({ code: 0, stderr: '' });
    expect(await readFile(join(target, 'etc', 'added.txt'), 'utf8')).toBe('added by layer 2\n');
    expect(await readdir(join(target, 'var', 'cache'))).toEqual(['new.txt']);
    expect(await readdir(join(target, 'etc'))).not.toContain('removed-later.txt');

    expect(await runCli(['umount', target])).toMatchObject({ code: 0, stderr: '' });
    expect(await readdir(target)).toEqual([]);
    expect(await readFile('/proc/self/mountinfo', 'utf8')).not.toContain(work);
  });

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
