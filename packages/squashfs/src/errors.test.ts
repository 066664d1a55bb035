import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type CompressorName,
  type CreateSquashfsOptions,
  createSquashfs,
  openSquashfs,
  SquashfsError,
} from './index.js';
import { END, featuresTar, packTar, pad, paxBlock, rawHeader, withField } from './testing/corpus.js';
import { exec, run, tempDir } from './testing/peers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** Nothing but `keep` may be left in the output directory: no image, no temporary file. */
function expectNoOutput(dir: string, keep: string[] = []): void {
  expect(readdirSync(dir).filter((f) => !keep.includes(f))).toEqual([]);
}

async function failure(promise: Promise<unknown>): Promise<SquashfsError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SquashfsError);
  return err as SquashfsError;
}

describe('createSquashfs on bad input', () => {
  /** Converts `tar` into a directory of its own, expecting a refusal: its error, once nothing is left there. */
  async function refusal(
    dirName: string,
    tar: Buffer,
    options: CreateSquashfsOptions = {},
  ): Promise<SquashfsError> {
    const dir = join(tmp.dir, dirName);
    mkdirSync(dir, { recursive: true });
    const err = await failure(createSquashfs([tar], join(dir, 'out.sqfs'), options));
    expectNoOutput(dir);
    return err;
  }

  it('reports a truncated tar (entry data stops short) as TAR_TRUNCATED and leaves no file', async () => {
    const tar = await featuresTar();
    // Cut inside the data of a big file.
    const at = tar.indexOf(Buffer.from('data/big\0')) + 512 + 1000;
    const err = await refusal('truncated', tar.subarray(0, at));
    expect(err.code).toBe('TAR_TRUNCATED');
    expect(err.message).toMatch(/truncated/);
  });

  it('refuses a sparse map of more than a million segments as LIMIT_EXCEEDED, in each of its three forms', async () => {
    const tooMany = 2 ** 20 + 1;
    const octal = (v: number, width: number) => `${v.toString(8).padStart(width - 1, '0')}\0`;
    const segment = octal(0, 12) + octal(1, 12);
    // GNU: the map runs on in extension blocks of 21 segments, each saying more follows.
    let gnu = withField(rawHeader({ name: 'gnu-map', type: 'S', size: 0 }), 482, 1, '\x01');
    gnu = withField(gnu, 483, 12, octal(1, 12));
    const extension = Buffer.alloc(512);
    for (let k = 0; k < 21; k++) extension.write(segment, k * 24, 'latin1');
    extension[504] = 1;
    const extensions = Buffer.concat(Array.from({ length: Math.ceil(tooMany / 21) + 1 }, () => extension));
    // PAX 1.0: the map is text at the start of the data, its first line the count of segments.
    const pax10 = Buffer.concat([
      paxBlock('pax10-map', [
        ['GNU.sparse.major', '1'],
        ['GNU.sparse.minor', '0'],
        ['GNU.sparse.name', 'pax10-map'],
        ['GNU.sparse.realsize', '1'],
      ]),
      rawHeader({ name: 'pax10-map', type: '0', size: 512 }),
      pad(Buffer.from(`${tooMany}\n`)),
    ]);
    // PAX 0.1: the map is one PAX record of offsets and sizes.
    const pax01 = Buffer.concat([
      paxBlock('pax01-map', [
        ['GNU.sparse.size', '1'],
        ['GNU.sparse.map', '0,1,'.repeat(tooMany)],
      ]),
      rawHeader({ name: 'pax01-map', type: '0', size: 0 }),
    ]);
    for (const [name, tar] of [
      ['gnu-map', Buffer.concat([gnu, extensions, END])],
      ['pax10-map', Buffer.concat([pax10, END])],
      ['pax01-map', Buffer.concat([pax01, END])],
    ] as const) {
      const err = await refusal(name, tar);
      expect(err.code).toBe('LIMIT_EXCEEDED');
      expect(err.message).toBe(
        `tar sparse map lists more than 1048576 segments; this reader holds at most that many (${name})`,
      );
    }
  });

  it('reports a file announcing petabytes it does not hold as TAR_TRUNCATED, reserving nothing for them', async () => {
    const pax = paxBlock('f', [['size', String(2 ** 53 - 1)]]);
    const err = await refusal(
      'petabytes',
      Buffer.concat([pax, rawHeader({ name: 'f', type: '0' }), pad(Buffer.alloc(100))]),
    );
    expect(err.code).toBe('TAR_TRUNCATED');
    expect(err.message).toMatch(/^tar stream ends \d+ bytes before the end of the data of f/);
  });

  it('reports a tar cut inside a header as TAR_TRUNCATED', async () => {
    const tar = await packTar([
      { name: 'a', content: Buffer.from('x') },
      { name: 'b', content: Buffer.from('y') },
    ]);
    const err = await refusal('cut-header', tar.subarray(0, 1024 + 100));
    expect(err.code).toBe('TAR_TRUNCATED');
  });

  it('refuses input that is not a tar (bad header checksum) with TAR_CORRUPT', async () => {
    const err = await refusal('not-tar', Buffer.alloc(2048, 0x41));
    expect(err.code).toBe('TAR_CORRUPT');
  });

  it('refuses a header number that is not octal with TAR_CORRUPT, naming it', async () => {
    const header = withField(rawHeader({ name: 'a', type: '0', size: 1 }), 108, 8, 'root\0');
    const err = await refusal('bad-number', Buffer.concat([header, pad(Buffer.from('x')), END]));
    expect(err.code).toBe('TAR_CORRUPT');
    expect(err.message).toContain('bad number "root"');
  });

  it('refuses a PAX header too large to hold in memory with LIMIT_EXCEEDED, reading no further', async () => {
    const header = rawHeader({ name: 'PaxHeaders/a', type: 'x', size: 8 * 1024 ** 3 });
    // Only the header is there: the size alone must be refused, before any allocation or read.
    const err = await refusal('huge-pax', header);
    expect(err.code).toBe('LIMIT_EXCEEDED');
    expect(err.message).toBe(
      'tar header at byte 0 declares a PAX header of 8589934592 bytes; this reader holds at most 16777216 in memory',
    );
  });

  it('takes paths up to PATH_MAX deep, and refuses longer ones with LIMIT_EXCEEDED', async () => {
    const deepest = `${'d/'.repeat(2047)}f`; // 4095 bytes: 2048 levels
    const ok = join(tmp.dir, 'deep-ok.sqfs');
    await createSquashfs([await packTar([{ name: deepest, content: Buffer.from('x') }])], ok);
    const r = await openSquashfs(ok);
    expect(r.stat(deepest).size).toBe(1);
    r.close();
    const tooLong = `${'d/'.repeat(2048)}f`;
    const err = await refusal('deep', await packTar([{ name: tooLong, content: Buffer.from('x') }]));
    expect(err.code).toBe('LIMIT_EXCEEDED');
    expect(err.message).toMatch(/^a tar entry path is 4097 bytes long, more than Linux opens \(4096\)/);
  });

  it('refuses sizes that are not byte counts (negative, fractional, not numbers) with TAR_CORRUPT', async () => {
    for (const [key, value] of [
      ['size', '-1'],
      ['size', '1.5'],
      ['GNU.sparse.size', 'many'],
    ] as const) {
      const pax = paxBlock('PaxHeaders/f', [
        [key, value],
        ...(key.startsWith('GNU') ? ([['GNU.sparse.map', '0,1']] as [string, string][]) : []),
      ]);
      const tar = Buffer.concat([
        pax,
        rawHeader({ name: 'f', type: '0', size: 1 }),
        pad(Buffer.from('x')),
        END,
      ]);
      const err = await refusal('bad-sizes', tar);
      expect(err.code).toBe('TAR_CORRUPT');
      expect(err.message.startsWith(`tar PAX ${key} `)).toBe(true); // names the field and its value
    }
  });

  it('refuses ".." in a tar path or a hard link target with TAR_CORRUPT, naming it, and leaves no file', async () => {
    const file = (name: string) => [rawHeader({ name, type: '0', size: 1 }), pad(Buffer.from('x'))];
    for (const [path, entries] of [
      ['../escape', file('../escape')],
      ['a/../../etc/passwd', file('a/../../etc/passwd')],
      ['./d/..', [rawHeader({ name: './d/..', type: '5' })]],
      ['../a', [...file('a'), rawHeader({ name: 'l', type: '1', linkname: '../a' })]],
    ] as const) {
      const err = await refusal('dot-dot', Buffer.concat([...entries, END]));
      expect(err.code).toBe('TAR_CORRUPT');
      expect(err.path).toBe(path);
      expect(err.message).toBe(`tar entry path contains "..": refusing to leave the root (${path})`);
    }
  });

  it('refuses whiteouts of "." and ".." with TAR_CORRUPT when making overlayfs whiteouts', async () => {
    for (const name of ['d/.wh..', 'd/.wh...']) {
      const tar = await packTar([{ name, content: Buffer.alloc(0) }]);
      const err = await refusal('dot-whiteouts', tar, { overlayWhiteouts: true });
      expect(err.code).toBe('TAR_CORRUPT');
      expect(err.message).toBe(`whiteout "${name.slice(2)}" names no file (${name})`);
    }
    // Kept as plain files (the default), they are ordinary names.
    const plain = join(tmp.dir, 'dot-whiteouts-plain.sqfs');
    await createSquashfs([await packTar([{ name: 'd/.wh..', content: Buffer.alloc(0) }])], plain);
    const r = await openSquashfs(plain);
    expect(r.stat('d/.wh..').type).toBe('file');
    r.close();
  });

  it('refuses a NUL byte in a PAX path or symlink target with TAR_CORRUPT', async () => {
    for (const [key, type, what] of [
      ['path', '0', 'path'],
      ['linkpath', '2', 'symlink target'],
    ] as const) {
      const tar = Buffer.concat([
        paxBlock('f', [[key, 'a\0b']]),
        rawHeader({ name: 'f', type, size: type === '0' ? 1 : 0 }),
        ...(type === '0' ? [pad(Buffer.from('x'))] : []),
        END,
      ]);
      const err = await refusal('nul', tar);
      expect(err.code).toBe('TAR_CORRUPT');
      expect(err.message).toContain(`${what} contains a NUL byte`);
    }
  });

  it('refuses xattr names Linux cannot hold, or cannot decode, naming the entry', async () => {
    const withXattr = (key: string, value: string) =>
      Buffer.concat([
        paxBlock('f', [[key, value]]),
        rawHeader({ name: 'f', type: '0', size: 1 }),
        pad(Buffer.from('x')),
        END,
      ]);
    for (const [key, code, message] of [
      [
        `SCHILY.xattr.user.${'n'.repeat(251)}`,
        'LIMIT_EXCEEDED',
        'an xattr name is 256 bytes long, more than Linux allows (255) (f)',
      ],
      [
        'LIBARCHIVE.xattr.user.%zz',
        'TAR_CORRUPT',
        'tar PAX key "LIBARCHIVE.xattr.user.%zz" is not URL-encoded (f)',
      ],
    ] as const) {
      const err = await refusal('bad-xattrs', withXattr(key, 'dg=='));
      expect(err.code).toBe(code);
      expect(err.message).toBe(message);
    }
    // 255 bytes is the most, and is kept.
    const longest = `user.${'n'.repeat(250)}`;
    const image = join(tmp.dir, 'longest-xattr.sqfs');
    await createSquashfs([withXattr(`SCHILY.xattr.${longest}`, 'v')], image);
    const r = await openSquashfs(image);
    expect(r.stat('f').xattrs[longest]?.toString()).toBe('v');
    r.close();
  });

  it('refuses device numbers squashfs cannot hold with LIMIT_EXCEEDED, rather than naming another device', async () => {
    for (const [devmajor, devminor] of [
      [4096, 1],
      [1, 1 << 20],
    ] as const) {
      // By hand: tar-stream cannot write a minor over 6 octal digits.
      let header = rawHeader({ name: 'dev/x', type: '3' });
      header = withField(header, 329, 8, `${devmajor.toString(8).padStart(7, '0')}\0`);
      header = withField(header, 337, 8, `${devminor.toString(8).padStart(7, '0')}\0`);
      const err = await refusal('big-devices', Buffer.concat([header, END]));
      expect(err.code).toBe('LIMIT_EXCEEDED');
      expect(err.message).toBe(
        `device ${devmajor}:${devminor} does not fit squashfs's 12-bit major and 20-bit minor (dev/x)`,
      );
    }
  });

  it('refuses an unknown compressor with UNKNOWN_COMPRESSOR and leaves no file', async () => {
    const err = await refusal('unknown', await featuresTar(), { compressor: 'brotli' as 'gzip' });
    expect(err.code).toBe('UNKNOWN_COMPRESSOR');
    expect(err.message).toContain('brotli');
  });

  it('refuses an xz level outside 0-9 (liblzma presets) with BAD_OPTION and leaves no file', async () => {
    const err = await refusal('xz-level', await featuresTar(), { compressor: 'xz', level: 10 });
    expect(err.code).toBe('BAD_OPTION');
    expect(err.message).toContain('xz level must be an integer from 0 to 9');
  });

  it('refuses a bad block size or level with BAD_OPTION', async () => {
    expect((await failure(createSquashfs([], join(tmp.dir, 'x.sqfs'), { blockSize: 5000 }))).code).toBe(
      'BAD_OPTION',
    );
    expect((await failure(createSquashfs([], join(tmp.dir, 'x.sqfs'), { level: 12 }))).code).toBe(
      'BAD_OPTION',
    );
  });

  it('says so when the output directory does not exist', async () => {
    const err = await failure(
      createSquashfs([await featuresTar()], join(tmp.dir, 'missing-dir', 'out.sqfs')),
    );
    expect(err.code).toBe('NOT_FOUND');
    expect(err.path).toBe(join(tmp.dir, 'missing-dir', 'out.sqfs'));
  });

  it('says READ_ONLY when the output directory is on a read-only file system', async () => {
    // A read-only tmpfs: chmod would not stop root, as which the tests run.
    const readOnly = join(tmp.dir, 'read-only');
    mkdirSync(readOnly);
    await exec('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', readOnly]);
    try {
      const err = await failure(createSquashfs([await featuresTar()], join(readOnly, 'out.sqfs')));
      expect(err.code).toBe('READ_ONLY');
      expect(err.path).toBe(join(readOnly, 'out.sqfs'));
      expect(err.message).toMatch(
        /^cannot create the image next to its final name: EROFS: read-only file system/,
      );
      expectNoOutput(readOnly);
    } finally {
      await exec('umount', [readOnly]);
    }
  });

  it('says NOT_A_DIRECTORY when a file stands where the output directory must be', async () => {
    const file = join(tmp.dir, 'a-file');
    writeFileSync(file, 'not a directory');
    const err = await failure(createSquashfs([await featuresTar()], join(file, 'out.sqfs')));
    expect(err.code).toBe('NOT_A_DIRECTORY');
    expect(err.path).toBe(join(file, 'out.sqfs'));
    const reading = await failure(openSquashfs(join(file, 'in.sqfs')));
    expect(reading.code).toBe('NOT_A_DIRECTORY');
  });

  it('keeps an existing file under the final name when conversion fails', async () => {
    const dir = join(tmp.dir, 'keep');
    mkdirSync(dir);
    writeFileSync(join(dir, 'out.sqfs'), 'previous');
    const tar = await featuresTar();
    await failure(createSquashfs([tar.subarray(0, tar.length / 2)], join(dir, 'out.sqfs')));
    expect(readFileSync(join(dir, 'out.sqfs'), 'utf8')).toBe('previous');
    expectNoOutput(dir, ['out.sqfs']);
  });
});

describe('openSquashfs on corrupt images', () => {
  async function goodImage(name: string, compressor: CompressorName = 'gzip'): Promise<string> {
    const path = join(tmp.dir, name);
    await createSquashfs(
      [
        await packTar([
          { name: 'a/', type: 'directory' },
          { name: 'a/b/', type: 'directory' },
          { name: 'a/b/file', content: Buffer.from('content '.repeat(1000)) },
        ]),
      ],
      path,
      { compressor },
    );
    return path;
  }

  /** Read the one file of a goodImage. */
  async function readBack(path: string): Promise<void> {
    const r = await openSquashfs(path);
    try {
      for await (const _ of r.readFile('a/b/file'));
    } finally {
      r.close();
    }
  }

  function listAll(path: string): Promise<unknown> {
    return openSquashfs(path).then((r) => {
      try {
        return r.list();
      } finally {
        r.close();
      }
    });
  }

  it('refuses a file without the squashfs magic with BAD_MAGIC', async () => {
    const path = join(tmp.dir, 'bad-magic.sqfs');
    writeFileSync(path, Buffer.alloc(4096, 0x55));
    const err = await failure(openSquashfs(path));
    expect(err.code).toBe('BAD_MAGIC');
    expect(err.path).toBe(path);
  });

  it('reports a truncated image as CORRUPT_IMAGE', async () => {
    const path = await goodImage('truncated.sqfs');
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, 200));
    expect((await failure(openSquashfs(path))).code).toBe('CORRUPT_IMAGE');
    writeFileSync(path, bytes.subarray(0, 50));
    expect((await failure(openSquashfs(path))).code).toBe('CORRUPT_IMAGE');
  });

  it('reports out-of-range table offsets as CORRUPT_IMAGE', async () => {
    const path = await goodImage('offsets.sqfs');
    const bytes = readFileSync(path);
    const patched = Buffer.from(bytes);
    patched.writeBigUInt64LE(1n << 40n, 64); // inode table start
    writeFileSync(path, patched);
    const err = await failure(listAll(path));
    expect(err.code).toBe('CORRUPT_IMAGE');
    expect(err.message).toMatch(/inode table/);
    const root = Buffer.from(bytes);
    root.writeBigUInt64LE(0xffff_0000n, 32); // root inode reference far outside the inode table
    writeFileSync(path, root);
    expect((await failure(listAll(path))).code).toBe('CORRUPT_IMAGE');
  });

  /**
   * Rewrite the entry "b" (a's listing of a/b) of a goodImage: `patch` gets the decompressed directory
   * table, the entry's offset in it and the root's inode reference. The patched table is appended
   * uncompressed and the superblock pointed at it.
   */
  function patchEntryB(
    path: string,
    patch: (listing: Buffer, entryAt: number, rootRef: number) => void,
  ): void {
    const bytes = readFileSync(path);
    const dirStart = Number(bytes.readBigUInt64LE(72));
    const rootRef = Number(bytes.readBigUInt64LE(32));
    const header = bytes.readUInt16LE(dirStart);
    const listing = Buffer.from(inflateSync(bytes.subarray(dirStart + 2, dirStart + 2 + (header & 0x7fff))));
    // The first listing written is a/b's, then a's, holding the entry "b".
    const nameAt = listing.indexOf(Buffer.from('b'), 12 + 8 + 4);
    const entryAt = nameAt - 8;
    expect(listing.readUInt16LE(entryAt + 6)).toBe(0); // name length 1 - 1
    patch(listing, entryAt, rootRef);
    const block = Buffer.alloc(2 + listing.length);
    block.writeUInt16LE(listing.length | 0x8000, 0);
    listing.copy(block, 2);
    const patched = Buffer.concat([bytes, block]);
    patched.writeBigUInt64LE(BigInt(bytes.length), 72);
    patched.writeBigUInt64LE(BigInt(patched.length), 40);
    writeFileSync(path, patched);
  }

  it('reports a directory that contains its own ancestor as a loop, without hanging', async () => {
    const path = await goodImage('loop.sqfs');
    // Point "b" back at the root directory.
    patchEntryB(path, (listing, entryAt, rootRef) => listing.writeUInt16LE(rootRef & 0xffff, entryAt));
    const err = await failure(listAll(path));
    expect(err.code).toBe('CORRUPT_IMAGE');
    expect(err.message).toMatch(/loop/);
  });

  it('reports a name no file system allows (a NUL byte) as CORRUPT_IMAGE, as unsquashfs does', async () => {
    const path = await goodImage('nul-name.sqfs');
    patchEntryB(path, (listing, entryAt) => {
      listing[entryAt + 8] = 0;
    });
    const err = await failure(listAll(path));
    expect(err.code).toBe('CORRUPT_IMAGE');
    expect(err.message).toMatch(/invalid name/);
  });

  it('reports a damaged xz block as CORRUPT_IMAGE', async () => {
    const path = await goodImage('xz-damaged.sqfs', 'xz');
    const bytes = readFileSync(path);
    // The data area starts right after the superblock with the fragment block: an .xz stream.
    const lzma2 = 96 + 12 + (bytes[96 + 12]! + 1) * 4;
    const damaged = Buffer.from(bytes);
    damaged[lzma2 + 8]! ^= 0xff;
    writeFileSync(path, damaged);
    const err = await failure(readBack(path));
    expect(err.code).toBe('CORRUPT_IMAGE');
    expect(err.message).toMatch(/an xz block does not decompress/);
  });

  it('reports a damaged zstd block as CORRUPT_IMAGE, as unsquashfs refuses it', async () => {
    const path = await goodImage('zstd-damaged.sqfs', 'zstd');
    const bytes = readFileSync(path);
    // No options at zstd's default level: the fragment block, one zstd frame, follows the superblock.
    // Its header is 7 bytes (magic, descriptor 0x60, a 2-byte content size); then the first block's.
    expect(bytes.readUInt32LE(96)).toBe(0xfd2fb528);
    expect(bytes[100]).toBe(0x60);
    bytes[103]! |= 0b110; // block type 3, which zstd reserves
    writeFileSync(path, bytes);
    const err = await failure(readBack(path));
    expect(err.code).toBe('CORRUPT_IMAGE');
    expect(err.message).toMatch(/^corrupt squashfs image: a zstd block does not decompress \(/);
    expect((await run('unsquashfs', ['-cat', path, 'a/b/file'])).code).not.toBe(0);
  });

  /** A goodImage in lz4: its fragment block (after the superblock and the 10 bytes of options) starts with "content ". */
  async function lz4Image(name: string): Promise<{ path: string; bytes: Buffer; block: number }> {
    const path = await goodImage(name, 'lz4');
    const bytes = readFileSync(path);
    const block = 96 + 2 + 8;
    expect(bytes[block]! >> 4).toBe(8); // eight literals,
    expect(bytes.subarray(block + 1, block + 9).toString()).toBe('content '); // then a match 8 bytes back
    expect(bytes.readUInt16LE(block + 9)).toBe(8);
    return { path, bytes, block };
  }

  it('reports an lz4 block whose match reaches before its start as CORRUPT_IMAGE, as unsquashfs does', async () => {
    const { path, bytes, block } = await lz4Image('lz4-offset.sqfs');
    bytes.writeUInt16LE(9, block + 9);
    writeFileSync(path, bytes);
    const err = await failure(readBack(path));
    expect(err.code).toBe('CORRUPT_IMAGE');
    expect(err.message).toBe(
      'corrupt squashfs image: an lz4 block does not decompress (a match refers to 9 bytes back, before the start)',
    );
    expect((await run('unsquashfs', ['-cat', path, 'a/b/file'])).code).not.toBe(0);
  });

  it('reports an lz4 block whose literals run past its end as CORRUPT_IMAGE', async () => {
    const { path, bytes, block } = await lz4Image('lz4-literals.sqfs');
    bytes[block] = 0xf0; // fifteen literals and more, as many as the next bytes say
    writeFileSync(path, bytes);
    const err = await failure(readBack(path));
    expect(err.code).toBe('CORRUPT_IMAGE');
    expect(err.message).toMatch(/^corrupt squashfs image: an lz4 block does not decompress \(/);
    expect((await run('unsquashfs', ['-cat', path, 'a/b/file'])).code).not.toBe(0);
  });

  it('refuses an xz block whose chunks claim more than a block before decoding it', async () => {
    const path = await goodImage('xz-inflated.sqfs', 'xz');
    const bytes = readFileSync(path);
    const lzma2 = 96 + 12 + (bytes[96 + 12]! + 1) * 4;
    expect(bytes[lzma2]! & 0x80).toBe(0x80); // an LZMA chunk: its control byte holds size bits 16-20
    bytes[lzma2]! |= 0x1f;
    writeFileSync(path, bytes);
    const err = await failure(readBack(path));
    expect(err.code).toBe('CORRUPT_IMAGE');
    expect(err.message).toMatch(/more than the 131072 expected/);
  });

  for (const compressor of ['gzip', 'xz', 'zstd', 'lz4'] as const) {
    it(`turns random damage into SquashfsError, never another exception or a hang (${compressor})`, async () => {
      await damageAtRandom(await goodImage(`fuzz-source-${compressor}.sqfs`, compressor));
    });
  }

  async function damageAtRandom(path: string): Promise<void> {
    const bytes = readFileSync(path);
    const target = `${path}.fuzz`;
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const used = Number(bytes.readBigUInt64LE(40));
    for (let round = 0; round < 300; round++) {
      const damaged = Buffer.from(bytes);
      for (let i = 0; i < 4; i++) damaged[96 + (rand() % (used - 96))] = rand() & 0xff;
      writeFileSync(target, damaged);
      try {
        const r = await openSquashfs(target);
        try {
          for (const e of r.list()) {
            if (e.type === 'file') for await (const _ of r.readFile(e.path));
          }
        } finally {
          r.close();
        }
      } catch (err) {
        if (!(err instanceof SquashfsError)) throw err;
      }
    }
  }
});
