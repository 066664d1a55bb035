import { createReadStream, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { crc32, gzipSync, zstdCompressSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createSquashfs, openSquashfs } from './index.js';
import { checkAgainstTar, checkAgainstTar2sqfs, normaliseListing, xzBlocks } from './testing/compare.js';
import {
  crc32Twin,
  duplicatesTars,
  END,
  extensionsTar,
  featuresTar,
  LATIN1_NAME,
  largeDirTar,
  namesTar,
  packTar,
  pad,
  pseudoRandom,
  rawHeader,
  unpaddedTar,
  whiteoutTar,
  withField,
} from './testing/corpus.js';
import { exec, listing, run, sqfsdiff, tar2sqfs, tempDir } from './testing/peers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('createSquashfs against tar2sqfs', () => {
  it('packs every entry type, odd sizes, links, long names and out-of-order entries (gzip)', async () => {
    const tar = await featuresTar();
    const { ours } = await checkAgainstTar2sqfs(tmp.dir, 'features-gzip', tar);
    await checkAgainstTar(ours, tar);
  });

  it('packs the same with zstd level 10 and 4 KiB blocks', async () => {
    await checkAgainstTar2sqfs(tmp.dir, 'features-zstd', await featuresTar(), {
      compressor: 'zstd',
      level: 10,
      blockSize: 4096,
    });
  });

  it('packs with lz4 (pure JavaScript codec): same as tar2sqfs -c lz4 and as our gzip image', async () => {
    const tar = await featuresTar();
    const tarPath = join(tmp.dir, 'lz4.tar');
    writeFileSync(tarPath, tar);
    const ours = join(tmp.dir, 'lz4.ours.sqfs');
    const gzip = join(tmp.dir, 'lz4.gzip.sqfs');
    const ref = join(tmp.dir, 'lz4.ref.sqfs');
    await createSquashfs([tar], ours, { compressor: 'lz4' });
    await createSquashfs([tar], gzip);
    await tar2sqfs(tarPath, ref, 'lz4');
    // unsquashfs 4.5.1 cannot read tar2sqfs 1.2's lz4 images (id table), so compare through sqfsdiff.
    expect((await sqfsdiff(ref, ours, ['-T'])).code).toBe(0);
    expect((await sqfsdiff(gzip, ours, ['-T'])).code).toBe(0);
    expect(normaliseListing(await listing(ours))).toEqual(normaliseListing(await listing(gzip)));
    expect((await run('unsquashfs', ['-s', ours])).stdout).toMatch(/Compression lz4/);
    const x = await run('unsquashfs', ['-q', '-no-xattrs', '-d', join(tmp.dir, 'lz4.x'), ours]);
    expect(x.code).toBe(0);
    const r = await openSquashfs(ours);
    expect((await buffer(r.readFile('data/big'))).equals(await buffer(r.readFile('data/big-copy')))).toBe(
      true,
    );
    r.close();
  });

  it('packs with xz: same as tar2sqfs -c xz, every block declaring the dictionary the kernel allocates', async () => {
    const tar = await featuresTar();
    const { ours } = await checkAgainstTar2sqfs(tmp.dir, 'features-xz', tar, { compressor: 'xz' });
    await checkAgainstTar(ours, tar);
    expect((await run('unsquashfs', ['-s', ours])).stdout).toMatch(/Compression xz/);
    const r = await openSquashfs(ours);
    expect((await buffer(r.readFile('data/big'))).equals(await buffer(r.readFile('data/big-copy')))).toBe(
      true,
    );
    r.close();
    // The kernel sizes its decoder to the image's dictionary (the block size) and refuses more.
    expect(new Set(xzBlocks(readFileSync(ours)).map((b) => b.dictSize))).toEqual(new Set([131072]));
  });

  it('packs with xz level 9 and 4 KiB blocks: an 8 KiB dictionary in the options block, as tar2sqfs', async () => {
    const { ours, ref } = await checkAgainstTar2sqfs(tmp.dir, 'features-xz-4k', await featuresTar(), {
      compressor: 'xz',
      level: 9,
      blockSize: 4096,
    });
    const options = (image: string) =>
      run('unsquashfs', ['-s', image]).then((s) =>
        s.stdout.split('\n').filter((l) => /Dictionary|filter/i.test(l)),
      );
    expect(await options(ours)).toEqual(await options(ref));
    expect(await options(ours)).toContain('\tDictionary size 8192');
    expect(new Set(xzBlocks(readFileSync(ours)).map((b) => b.dictSize))).toEqual(new Set([8192]));
  });

  it('packs with 1 MiB blocks and gzip level 1', async () => {
    await checkAgainstTar2sqfs(tmp.dir, 'features-1m', await featuresTar(), { blockSize: 1 << 20, level: 1 });
  });

  it('reads PAX xattrs (binary security.capability), big ids, GNU long names and base-256 numbers', async () => {
    const tar = extensionsTar();
    const { ours } = await checkAgainstTar2sqfs(tmp.dir, 'extensions', tar);
    const r = await openSquashfs(ours);
    const ping = r.stat('bin/ping');
    expect(ping.xattrs['security.capability']?.toString('hex')).toBe(
      '0100000200200000000000000000000000000000',
    );
    expect(ping.xattrs['user.comment']?.toString()).toBe('hello xattr');
    expect(r.stat('opaque').xattrs['trusted.overlay.opaque']?.toString()).toBe('y');
    expect(r.stat('opaque/link').xattrs['user.sym']?.toString()).toBe('on a link');
    expect(r.stat('ids/big')).toMatchObject({ uid: 4000000, gid: 70000, mtime: 1700000000 });
    expect(r.stat(`gnu/${'n'.repeat(180)}`).size).toBe(13);
    expect(r.stat('gnu/longlink').linkTarget).toBe(`/${'l'.repeat(200)}`);
    expect(r.stat('gnu/base256').uid).toBe(3_000_000);
    expect(r.stat(`pax/${'p'.repeat(200)}/${'q'.repeat(100)}`).size).toBe(8);
    // Names that are not UTF-8 keep their bytes; `path` shows them decoded.
    const latin1 = r.list().find((e) => e.pathBytes.equals(LATIN1_NAME));
    expect(latin1).toMatchObject({ path: 'latin1/caf\uFFFD', type: 'file', size: 12 });
    expect(r.stat('latin1/link')).toMatchObject({ mode: 0o777, linkTarget: 'caf\uFFFD' });
    expect(r.stat('latin1/link').linkTargetBytes).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    r.close();
    // An independent reader agrees on the binary capability.
    const x = await run('rdsquashfs', ['-x', '/bin/ping', ours]);
    expect(x.stdout).toContain('security.capability=0x01000002002000000000000000000000');
  });

  it('reads header numbers padded with spaces, as old tar writers pad them', async () => {
    let header = rawHeader({ name: 'old', type: '0', size: 5 });
    for (const [at, width, text] of [
      [100, 8, '   644 '],
      [108, 8, '     7 '],
      [116, 8, '    11\0'],
      [124, 12, '          5'],
      [136, 12, '14530000000 '],
    ] as const) {
      header = withField(header, at, width, text);
    }
    const tar = Buffer.concat([header, pad(Buffer.from('hello')), END]);
    const image = join(tmp.dir, 'old-numbers.sqfs');
    await createSquashfs([tar], image);
    const r = await openSquashfs(image);
    expect(r.stat('old')).toMatchObject({ mode: 0o644, uid: 7, gid: 9, size: 5, mtime: 0o14530000000 });
    expect((await buffer(r.readFile('old'))).toString()).toBe('hello');
    r.close();
  });

  it('stores device numbers with 20-bit minors like the kernel encodes them', async () => {
    const tar = await packTar([
      { name: 'nvme', type: 'block-device', devmajor: 259, devminor: 70000, mode: 0o600 },
    ]);
    const out = join(tmp.dir, 'dev.sqfs');
    await createSquashfs([tar], out);
    const r = await openSquashfs(out);
    expect(r.stat('nvme')).toMatchObject({ type: 'block', devMajor: 259, devMinor: 70000 });
    r.close();
    const ref = join(tmp.dir, 'dev.ref.sqfs');
    writeFileSync(join(tmp.dir, 'dev.tar'), tar);
    await tar2sqfs(join(tmp.dir, 'dev.tar'), ref);
    expect((await sqfsdiff(ref, out, ['-T'])).code).toBe(0);
  });

  it('still compresses the blocks that follow incompressible ones in a file (the cheap check skips only data that does not shrink)', async () => {
    const bs = 131072;
    const content = Buffer.concat([
      pseudoRandom(3 * bs, 11),
      pseudoRandom(3 * bs, 12, true),
      pseudoRandom(2 * bs, 13),
      pseudoRandom(2 * bs + 99, 14, true),
    ]);
    const tar = await packTar([{ name: 'mixed.bin', content }]);
    for (const compressor of ['gzip', 'zstd'] as const) {
      const { ours, ref } = await checkAgainstTar2sqfs(tmp.dir, `mixed-${compressor}`, tar, { compressor });
      // The random blocks are stored as they are by both; the others (six letters: 2.6 bits a byte) shrink.
      expect(statSync(ours).size).toBeLessThanOrEqual(statSync(ref).size * 1.01);
      expect(statSync(ours).size).toBeLessThan(5 * bs + 0.5 * 5 * bs);
    }
  });

  it('stores UTF-8 and non-UTF-8 names byte for byte', async () => {
    const { ours } = await checkAgainstTar2sqfs(tmp.dir, 'names', namesTar());
    const r = await openSquashfs(ours);
    expect(r.stat('names/grüße.txt').size).toBe(14);
    expect(r.stat('names/link-ä').linkTarget).toBe('grüße.txt');
    expect(r.stat(`names/${'ü'.repeat(60)}/${'é'.repeat(120)}`).size).toBe(9);
    r.close();
  });

  it('counts hard links by the names left in the end, after later entries replace names and directories', async () => {
    const tar = await packTar([
      { name: 'd/f', content: Buffer.from('f') },
      { name: 'keep', type: 'link', linkname: 'd/f' },
      { name: 'd', type: 'link', linkname: 'd/f' }, // replaces directory d, and d/f with it
      { name: 'a', content: Buffer.from('a') },
      { name: 'b', type: 'link', linkname: 'a' },
      { name: 'a', content: Buffer.from('new a') }, // a new file: b alone names the old one
      { name: 'x/y', type: 'link', linkname: 'b' },
      { name: 'x', type: 'directory' },
    ]);
    const image = join(tmp.dir, 'link-counts.sqfs');
    await createSquashfs([tar], image);
    const r = await openSquashfs(image);
    expect(r.list().map((e) => `${e.path} ${e.type} ${e.nlink}`)).toEqual([
      ' directory 3',
      'a file 1',
      'b file 2',
      'd file 2',
      'keep file 2',
      'x directory 2',
      'x/y file 2',
    ]);
    expect((await buffer(r.readFile('d'))).toString()).toBe('f');
    expect((await buffer(r.readFile('b'))).toString()).toBe('a');
    r.close();
    // An independent reader agrees.
    expect((await run('rdsquashfs', ['-s', '/keep', image])).stdout).toMatch(/Hard link count: 2/);
  });

  it('lets a later duplicate entry win, whatever its type', async () => {
    const { withDuplicates, resolved } = await duplicatesTars();
    const refTar = join(tmp.dir, 'dups-resolved.tar');
    writeFileSync(refTar, resolved);
    const ref = join(tmp.dir, 'dups.ref.sqfs');
    await tar2sqfs(refTar, ref);
    const ours = join(tmp.dir, 'dups.ours.sqfs');
    await createSquashfs([withDuplicates], ours);
    expect(normaliseListing(await listing(ours))).toEqual(normaliseListing(await listing(ref)));
    expect((await sqfsdiff(ref, ours, ['-T'])).code).toBe(0);
  });

  it('keeps OCI whiteouts as plain files by default', async () => {
    const { ours } = await checkAgainstTar2sqfs(tmp.dir, 'whiteouts', await whiteoutTar());
    const lines = await listing(ours);
    expect(lines.some((l) => l.endsWith('/etc/.wh.passwd'))).toBe(true);
    expect(lines.some((l) => l.endsWith('/var/.wh..wh..opq'))).toBe(true);
  });

  it('turns OCI whiteouts into overlayfs whiteouts with overlayWhiteouts', async () => {
    const tarPath = join(tmp.dir, 'wo.tar');
    writeFileSync(tarPath, await whiteoutTar());
    const out = join(tmp.dir, 'wo-overlay.sqfs');
    await createSquashfs(createReadStream(tarPath), out, { overlayWhiteouts: true });
    const lines = await listing(out);
    expect(lines).toContain('crw-r--r-- 0/0 0, 0 2024-03-01 12:34 /etc/passwd');
    expect(lines.some((l) => l.includes('.wh.'))).toBe(false);
    expect(lines.some((l) => l.startsWith('crw-r--r-- 0/0 0, 0') && l.endsWith('/root-gone'))).toBe(true);
    const x = await run('rdsquashfs', ['-x', '/var', out]);
    expect(x.stdout.trim()).toBe('trusted.overlay.opaque=y');
    const r = await openSquashfs(out);
    expect(r.stat('etc/passwd')).toMatchObject({ type: 'char', devMajor: 0, devMinor: 0 });
    r.close();
  });

  it('writes directory indexes for a directory spanning many metadata blocks', async () => {
    const { ours } = await checkAgainstTar2sqfs(tmp.dir, 'large-dir', await largeDirTar());
    const r = await openSquashfs(ours);
    expect(r.list().filter((e) => e.path.startsWith('many/'))).toHaveLength(3000);
    r.close();
    const s = await run('rdsquashfs', ['-s', '/many', ours]);
    // An index entry for each listing header that starts a metadata block the listing enters (15), and
    // for each header begun because the one before held 256 entries (11 in 3000).
    expect(s.stdout).toContain('Directory index entries: 26\n');
  });

  it('reads a tar that ends right after the last data (umoci) like a tidy one', async () => {
    const tar = await unpaddedTar();
    expect(tar.length % 512).not.toBe(0);
    // tar-stream refuses such a layer ("Unexpected end of data"): the reason this package parses tar itself.
    const extract = tarStream.extract();
    Readable.from([tar]).pipe(extract);
    const viaTarStream = (async () => {
      for await (const entry of extract) entry.resume();
    })();
    await expect(viaTarStream).rejects.toThrow(/Unexpected end of data/);
    const tarPath = join(tmp.dir, 'umoci.tar');
    writeFileSync(tarPath, tar);
    const out = join(tmp.dir, 'umoci.sqfs');
    await createSquashfs(createReadStream(tarPath), out);
    const r = await openSquashfs(out);
    expect((await buffer(r.readFile('a/last'))).toString()).toBe('last file, 30 bytes of data..\n');
    r.close();
  });

  it('is reproducible: same tar and options give identical bytes', async () => {
    const tar = await featuresTar();
    const a = join(tmp.dir, 'repro-a.sqfs');
    const b = join(tmp.dir, 'repro-b.sqfs');
    await createSquashfs([tar], a, { compressor: 'zstd', level: 10, concurrency: 1 });
    await createSquashfs([tar.subarray(0, 1000), tar.subarray(1000)], b, {
      compressor: 'zstd',
      level: 10,
      concurrency: 4,
    });
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
  });

  it('is reproducible however fast the tar comes: which blocks are checked cheaply does not depend on timing', async () => {
    // Blocks that zstd's fastest level cannot shrink but gzip can (random bytes, one in twenty zeroed)
    // after a random first block: whether such a block was stored raw used to depend on whether the
    // block before it had come back from the workers when it was handed over.
    const bs = 131072;
    const skewed = (seed: number): Buffer => {
      const b = pseudoRandom(bs, seed);
      const pick = pseudoRandom(bs, seed + 1000);
      for (let i = 0; i < bs; i++) if (pick[i]! < 13) b[i] = 0;
      return b;
    };
    const files = [1, 2, 3].map((f) => ({
      name: `f${f}.bin`,
      content: Buffer.concat([pseudoRandom(bs, f), skewed(10 * f), skewed(10 * f + 1), skewed(10 * f + 2)]),
    }));
    const tar = await packTar(files);
    const fast = join(tmp.dir, 'timing-fast.sqfs');
    const slow = join(tmp.dir, 'timing-slow.sqfs');
    await createSquashfs([tar], fast, { compressor: 'gzip' });
    async function* trickle(): AsyncGenerator<Buffer> {
      // A piece at a time, with time between them for every block handed over to come back.
      for (let at = 0; at < tar.length; at += 32768) {
        yield tar.subarray(at, at + 32768);
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    }
    await createSquashfs(trickle(), slow, { compressor: 'gzip' });
    expect(readFileSync(slow).equals(readFileSync(fast))).toBe(true);
    // And the image holds the files as they were.
    const r = await openSquashfs(slow);
    for (const f of files) expect((await buffer(r.readFile(f.name))).equals(f.content)).toBe(true);
    r.close();
  });

  it('is reproducible with gzip and small blocks however the blocks fall to the workers', async () => {
    // Text of some variety in 4 KiB blocks: a deflate context used again would look at what its last
    // block left in its window, so the image depended on which worker got which block.
    const words = Array.from({ length: 300 }, (_, i) =>
      pseudoRandom(3 + (i % 9), i + 1, true).toString('latin1'),
    );
    const files = Array.from({ length: 120 }, (_, f) => {
      const pick = pseudoRandom(600 + f * 37, f + 500);
      return {
        name: `doc/${f}.txt`,
        content: Buffer.from([...pick].map((b, i) => words[(b + i) % 300]).join(' ')),
      };
    });
    const tar = await packTar(files);
    const one = join(tmp.dir, 'gzip-one-worker.sqfs');
    const three = join(tmp.dir, 'gzip-three-workers.sqfs');
    await createSquashfs([tar], one, { compressor: 'gzip', blockSize: 4096, concurrency: 1 });
    await createSquashfs([tar], three, { compressor: 'gzip', blockSize: 4096, concurrency: 3 });
    expect(readFileSync(three).equals(readFileSync(one))).toBe(true);
  });

  it('reads a tar file by its path (plain through reused buffers, gzip or zstd by content) as it reads a stream', async () => {
    // Past the four 1 MiB read buffers several times, headers and data crossing their edges.
    const entries = Array.from({ length: 400 }, (_, i) => ({
      name: `many/f${i}`,
      content: pseudoRandom((i * 7919) % 60_000, i + 1, i % 2 === 0),
    }));
    entries.push({ name: 'big/a', content: pseudoRandom(2_500_000, 501, true) });
    const tar = await packTar(entries);
    const plain = join(tmp.dir, 'by-path.tar');
    writeFileSync(plain, tar);
    writeFileSync(`${plain}.gz`, gzipSync(tar));
    writeFileSync(`${plain}.zst`, zstdCompressSync(tar));
    const fromStream = join(tmp.dir, 'by-stream.sqfs');
    await createSquashfs([tar], fromStream);
    for (const path of [plain, `${plain}.gz`, `${plain}.zst`]) {
      const out = `${path}.sqfs`;
      await createSquashfs(path, out);
      expect(readFileSync(out).equals(readFileSync(fromStream))).toBe(true);
    }
    const missing = join(tmp.dir, 'missing.sqfs');
    await expect(createSquashfs(join(tmp.dir, 'no-such.tar'), missing)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(existsSync(missing)).toBe(false);
  });

  it('shares the data of identical files', async () => {
    const tar = await featuresTar();
    const stats = await createSquashfs([tar], join(tmp.dir, 'dedup.sqfs'));
    expect(stats.duplicateFiles).toBe(1); // data/big-copy, whose blocks are data/big's
    const r = await openSquashfs(join(tmp.dir, 'dedup.sqfs'));
    const a = await buffer(r.readFile('data/big'));
    const b = await buffer(r.readFile('data/big-copy'));
    expect(a.equals(b)).toBe(true);
    expect(r.stat('bin/hardlink').nlink).toBe(3);
    r.close();
  });

  // Files up to 4 MiB are held back and compared before compression; bigger ones once both are stored.
  it.each([
    ['small files', 0],
    ['big files', 4 << 20],
  ])('does not share data between %s whose blocks only have the same checksum', async (_, more) => {
    const block = pseudoRandom(131072, 11, true);
    const twin = crc32Twin(block);
    expect(crc32(twin)).toBe(crc32(block));
    expect(twin.equals(block)).toBe(false);
    // After the twins, the same blocks for all: the checksums of the files still agree.
    const rest = pseudoRandom(more, 12);
    const tail = Buffer.from('the same tail');
    const tar = await packTar([
      { name: 'a', content: Buffer.concat([block, rest, tail]) },
      { name: 'b', content: Buffer.concat([twin, rest, tail]) },
      { name: 'c', content: Buffer.concat([twin, rest, Buffer.from('another tail')]) },
      { name: 'd', content: Buffer.concat([block, rest, tail]) },
    ]);
    const image = join(tmp.dir, `crc-twins-${more}.sqfs`);
    const stats = await createSquashfs([tar], image, { compressor: 'zstd' });
    expect(stats.duplicateFiles).toBe(1); // d, a true copy of a
    const r = await openSquashfs(image);
    for (const [name, head] of [
      ['a', block],
      ['b', twin],
      ['c', twin],
      ['d', block],
    ] as const) {
      expect((await buffer(r.readFile(name))).subarray(0, 131072).equals(head)).toBe(true);
    }
    r.close();
    // unsquashfs reads the same: b is the twin, not a's blocks.
    const { stdout } = await exec('unsquashfs', ['-cat', image, 'b'], {
      encoding: 'buffer',
      maxBuffer: 16 << 20,
    });
    expect(stdout.subarray(0, 131072).equals(twin)).toBe(true);
  });

  it('shares the full blocks of files that differ only in their tails, as tar2sqfs does', async () => {
    const blocks = pseudoRandom(4 * 131072, 7);
    const tar = await packTar([
      { name: 'a', content: Buffer.concat([blocks, Buffer.from('tail of a')]) },
      { name: 'b', content: Buffer.concat([blocks, Buffer.from('the tail of b')]) },
    ]);
    const { ours, ref } = await checkAgainstTar2sqfs(tmp.dir, 'shared-blocks', tar);
    const r = await openSquashfs(ours);
    expect((await buffer(r.readFile('b'))).subarray(-13).toString()).toBe('the tail of b');
    r.close();
    const oursSize = readFileSync(ours).length;
    // One copy of the blocks: the image is about as large as tar2sqfs's, and smaller than two copies.
    expect(oursSize).toBeLessThanOrEqual(readFileSync(ref).length * 1.01);
    expect(oursSize).toBeLessThan(blocks.length * 1.5);
  });
});
