import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSquashfs } from './index.js';
import { checkAgainstTar2sqfs } from './testing/compare.js';
import { CACHE, run, tempDir } from './testing/peers.js';

/**
 * A real root filesystem layer: parts of this machine's /usr (~90 MB: scripts, text, locales, binaries,
 * symlinks, hard links), made once with GNU tar and cached under <repo>/.cache.
 */
const ROOTFS_PARTS = [
  'usr/sbin',
  'usr/share/perl',
  'usr/share/vim',
  'usr/share/zoneinfo',
  'usr/share/i18n',
  'usr/share/mime',
];
const cacheDir = join(CACHE, 'squashfs-test');
const rootfsTar = join(cacheDir, 'rootfs-usr.tar');
const tmp = tempDir();
afterAll(() => tmp.cleanup());

beforeAll(async () => {
  if (existsSync(rootfsTar)) return;
  mkdirSync(cacheDir, { recursive: true });
  const partial = `${rootfsTar}.partial`;
  const parts = ROOTFS_PARTS.map((p) => `'${p}'`).join(' ');
  const r = await run('sh', ['-c', `tar --sort=name --format=pax -C / -cf '${partial}' ${parts}`]);
  // GNU tar exits 1 when files changed while read; the archive is still valid.
  if (r.code !== 0 && r.code !== 1) throw new Error(`tar of /usr failed: ${r.stderr}`);
  renameSync(partial, rootfsTar);
});

describe('a real root filesystem layer', () => {
  it('gzip: same listing, contents and extraction as tar2sqfs', async () => {
    const { ours } = await checkAgainstTar2sqfs(tmp.dir, 'rootfs-gzip', rootfsTar);
    const r = await openSquashfs(ours);
    expect(r.list().length).toBeGreaterThan(1000);
    r.close();
  });

  it('zstd level 10: same as tar2sqfs', async () => {
    await checkAgainstTar2sqfs(tmp.dir, 'rootfs-zstd', rootfsTar, { compressor: 'zstd', level: 10 });
  });
});
