import { createReadStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSquashfs, openSquashfs } from './index.js';
import { checkAgainstTar2sqfs, normaliseListing } from './testing/compare.js';
import { END, pad, rawHeader, withField } from './testing/corpus.js';
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

  it('keeps the metadata of an entry whose GNU sparse map runs over several megabytes of headers', async () => {
    // 250,000 one-byte segments, one every other byte: 11,905 extension blocks (6.1 MB) after the
    // header, so the header's bytes are long gone from the reader's buffers by the time it is done.
    const segments = 250_000;
    const octal = (v: number, width: number) => `${v.toString(8).padStart(width - 1, '0')}\0`;
    // A map entry: the offset of a one-byte segment, and its size.
    const entry = (i: number) => octal(i * 2, 12) + octal(1, 12);
    let header = rawHeader({
      name: 'sparse-map',
      type: 'S',
      size: segments,
      mode: 0o640,
      uid: 1234,
      gid: 5678,
    });
    for (let i = 0; i < 4; i++) header = withField(header, 386 + i * 24, 24, entry(i));
    header = withField(header, 482, 1, '\x01'); // extended: more of the map follows
    header = withField(header, 483, 12, octal(segments * 2, 12)); // the real size
    const extensions: Buffer[] = [];
    for (let first = 4; first < segments; first += 21) {
      const block = Buffer.alloc(512);
      for (let k = 0; k < 21 && first + k < segments; k++) block.write(entry(first + k), k * 24, 'latin1');
      block[504] = first + 21 < segments ? 1 : 0;
      extensions.push(block);
    }
    const tarPath = join(tmp.dir, 'sparse-map.tar');
    writeFileSync(tarPath, Buffer.concat([header, ...extensions, pad(Buffer.alloc(segments, 0x61)), END]));
    const image = join(tmp.dir, 'sparse-map.sqfs');
    await createSquashfs(tarPath, image); // the path: read through the reused buffers
    const r = await openSquashfs(image);
    expect(r.stat('sparse-map')).toMatchObject({ mode: 0o640, uid: 1234, gid: 5678, size: segments * 2 });
    const data = await buffer(r.readFile('sparse-map'));
    expect(data.equals(Buffer.from('a\0'.repeat(segments), 'latin1'))).toBe(true);
    r.close();
  });

  it('stores a 256 GiB sparse file, mostly hole (as lastlog grows with a large uid), block for block', async () => {
    const file = join(src, 'lastlog');
    const tarPath = join(tmp.dir, 'lastlog.tar');
    await sh(`truncate -s 256G '${file}' && printf 'entry' | dd of='${file}' bs=1 seek=5000000 conv=notrunc 2>/dev/null \
      && tar --sparse --format=pax --owner=0 --group=0 --mtime=@1700000000 -cf '${tarPath}' -C '${src}' lastlog && rm '${file}'`);
    const image = join(tmp.dir, 'lastlog.sqfs');
    await createSquashfs(tarPath, image);
    expect(await listing(image)).toContain('-rw-r--r-- 0/0 274877906944 2023-11-14 22:13 /lastlog');
    // 2 Mi blocks of 128 KiB, one holding the data: that one stored, the others holes, no fragment.
    const stat = await run('sh', ['-c', `rdsquashfs -s /lastlog '${image}' | head -n 15`]);
    expect(stat.stdout).toContain(`Sparse: ${256 * 1024 ** 3 - 131072}\n`);
    expect(stat.stdout).toContain('Block count: 2097152\n');
    expect(stat.stdout).toContain('Fragment index: 0xFFFFFFFF\n');
    // unsquashfs reads the data where it was written.
    const cat = await run('sh', ['-c', `unsquashfs -cat '${image}' lastlog | tail -c +5000001 | head -c 5`]);
    expect(cat.stdout).toBe('entry');
    const r = await openSquashfs(image);
    expect(r.stat('lastlog').size).toBe(256 * 1024 ** 3);
    r.close();
  });

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
