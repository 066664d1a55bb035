import { execFile } from 'node:child_process';
import { chmod, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { directoryPerTest, rawTar, writeImage } from './testing/image-layout.js';

const run = promisify(execFile);
const work = directoryPerTest();
const NOBODY = 65534;

/**
 * Copies an OCI layout to `bundle:` in a process that runs as nobody, with this Node: in a user
 * namespace of its own whose nobody is this process's user outside, so it reads the checkout
 * wherever it is (a clone in a 0700 temporary directory too) but holds no privilege: no chown to
 * others, no device nodes, no `trusted.*` xattrs.
 */
async function copyAsNobody(layout: string, bundle: string): Promise<void> {
  const script = `
    const { copy, OciLayout } = await import('@concil/image');
    const { Bundle } = await import('@concil/pipeline');
    await copy(new OciLayout(${JSON.stringify(layout)}, 'latest'), new Bundle(${JSON.stringify(bundle)}));
  `;
  await run(
    'unshare',
    [
      '--user',
      `--map-user=${NOBODY}`,
      `--map-group=${NOBODY}`,
      process.execPath,
      '--input-type=module',
      '-e',
      script,
    ],
    { cwd: join(import.meta.dirname, '..') },
  );
}

describe('unpacking without privileges', () => {
  it('makes no device node, gives nothing away and leaves out the xattrs it may not set, but unpacks the rest', async () => {
    const layer = await rawTar([
      { name: 'dev/', type: 'directory', mode: 0o755 },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'dev/pipe', type: 'fifo', mode: 0o600 },
      { name: 'tool', content: 'tool\n', mode: 0o4755, uid: 1000, gid: 1000 },
      { name: 'tagged', content: 'x', pax: { 'SCHILY.xattr.trusted.concil': 'root only' } },
    ]);
    const image = await writeImage(join(work(), 'layout'), [layer], { Cmd: ['/tool'] });
    await chmod(work(), 0o777);
    const bundle = join(work(), 'bundle');
    await copyAsNobody(image.layout, bundle);

    const root = join(bundle, 'rootfs');
    expect(await readdir(join(root, 'dev'))).toEqual(['pipe']);
    const tool = await lstat(join(root, 'tool'));
    // Owned by whoever unpacked it (nobody inside, this user outside), not given away to 1000.
    expect([tool.uid, tool.gid, (tool.mode & 0o7777).toString(8)]).toEqual([
      process.getuid?.(),
      process.getgid?.(),
      '4755',
    ]);
    expect((await lstat(join(root, 'tagged'))).size).toBe(1);
  });
});
