import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { useHarness } from './testing/harness.js';

const run = promisify(execFile);
const h = useHarness();

it('converts the layers umoci writes (rootless repack, pushed with skopeo) and lists them with unsquashfs', async () => {
  const work = join(h.dir, 'umoci');
  await mkdir(work);
  const layout = join(work, 'layout');
  const bundle = join(work, 'bundle');
  await run('umoci', ['init', '--layout', layout]);
  await run('umoci', ['new', '--image', `${layout}:t`]);
  await run('umoci', ['unpack', '--rootless', '--image', `${layout}:t`, bundle]);
  await mkdir(join(bundle, 'rootfs', 'opt', 'app'), { recursive: true });
  await writeFile(join(bundle, 'rootfs', 'opt', 'app', 'data.bin'), Buffer.alloc(70_001, 7));
  await writeFile(join(bundle, 'rootfs', 'hello.txt'), 'hi\n');
  await run('umoci', ['repack', '--image', `${layout}:t`, bundle]);
  await writeFile(join(bundle, 'rootfs', 'second.txt'), 'x');
  await run('umoci', ['repack', '--image', `${layout}:t`, bundle]);
  await run('skopeo', [
    'copy',
    '--quiet',
    '--dest-tls-verify=false',
    `oci:${layout}:t`,
    `docker://${h.registry.host}/umoci/app:t`,
  ]);

  const store = await h.store();
  const image = await store.pull(`${h.registry.host}/umoci/app:t`, { squashfs: true });
  // `umoci new` makes an image without layers, and umoci 0.4.7 repacks against the image the bundle
  // was unpacked from: the second repack replaces the first, one layer with all that was added.
  expect(image.layers).toHaveLength(1);
  const { stdout } = await run('unsquashfs', ['-lln', image.layers[0]!.squashfsPath!]);
  const names = stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => line.slice(line.indexOf('squashfs-root')));
  expect(names).toEqual([
    'squashfs-root',
    'squashfs-root/hello.txt',
    'squashfs-root/opt',
    'squashfs-root/opt/app',
    'squashfs-root/opt/app/data.bin',
    'squashfs-root/second.txt',
  ]);
  expect((await store.verify()).problems).toEqual([]);
});
