import { createReadStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSquashfs, openSquashfs } from './index.js';
import { checkAgainstTar2sqfs, normaliseListing } from './testing/compare.js';
import { listing, run, sqfsdiff, tar2sqfs, tempDir } from './testing/peers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const src = join(tmp.dir, 'src');

async function sh(script: string): Promise<void> {
  const r = await run('sh', ['-c', script]);
  if (r.code !== 0) throw new Error(`${script}: ${r.stderr}`);
}

beforeAll(async () => {
  mkdirSync(src);
  // Holes, data in the middle of a block, data at the very end; and a 5 GiB file with 13 bytes of data.
  await sh(`cd '${src}' && truncate -s 3000000 holes && printf 'middle' | dd of=holes bs=1 seek=1000000 conv=notrunc 2>/dev/null \
    && printf 'end' | dd of=holes bs=1 seek=2999997 conv=notrunc 2>/dev/null`);
  await sh(`cd '${src}' && truncate -s 5G huge && printf 'head' | dd of=huge conv=notrunc 2>/dev/null \
    && printf 'tail data' | dd of=huge bs=1 seek=$((5*1024*1024*1024 - 9)) conv=notrunc 2>/dev/null`);
});

describe('sparse files and files over 4 GiB', () => {
  for (const format of ['gnu', 'pax']) {
    it(`reads GNU tar --sparse --format=${format} like tar2sqfs does`, async () => {
      const tarPath = join(tmp.dir, `sparse-${format}.tar`);
      await sh(
        `tar --sparse --format=${format} --owner=0 --group=0 --mtime=@1700000000 -cf '${tarPath}' -C '${src}' holes`,
      );
      const { ours } = await checkAgainstTar2sqfs(tmp.dir, `sparse-${format}`, tarPath);
      const r = await openSquashfs(ours);
      const data = await buffer(r.readFile('holes'));
      expect(data.length).toBe(3_000_000);
      expect(data.subarray(1_000_000, 1_000_006).toString()).toBe('middle');
      expect(data.subarray(2_999_997).toString()).toBe('end');
      r.close();
    });
  }

  it('stores a 5 GiB file (extended inode) like tar2sqfs', async () => {
    const tarPath = join(tmp.dir, 'huge.tar');
    await sh(
      `tar --sparse --format=pax --owner=0 --group=0 --mtime=@1700000000 -cf '${tarPath}' -C '${src}' huge`,
    );
    const ours = join(tmp.dir, 'huge.ours.sqfs');
    const ref = join(tmp.dir, 'huge.ref.sqfs');
    await createSquashfs(createReadStream(tarPath), ours);
    await tar2sqfs(tarPath, ref);
    const lines = await listing(ours);
    expect(lines).toContain('-rw-r--r-- 0/0 5368709120 2023-11-14 22:13 /huge');
    expect(normaliseListing(lines)).toEqual(normaliseListing(await listing(ref)));
    expect((await sqfsdiff(ref, ours, ['-T'])).code).toBe(0);
    const stat = await run('rdsquashfs', ['-s', '/huge', ours]);
    expect(stat.stdout).toContain('Inode type: extended file');
    const r = await openSquashfs(ours);
    expect(r.stat('huge').size).toBe(5 * 1024 * 1024 * 1024);
    let last = Buffer.alloc(0);
    let first: Buffer | undefined;
    for await (const chunk of r.readFile('huge')) {
      first ??= Buffer.from(chunk.subarray(0, 4));
      last = chunk;
    }
    expect(first?.toString()).toBe('head');
    expect(last.subarray(last.length - 9).toString()).toBe('tail data');
    r.close();
  });
});
