import { Buffer } from 'node:buffer';
import { crc32 } from 'node:zlib';
import type { Header } from 'tar-stream';
import tarStream from 'tar-stream';

/** Deterministic test data: the same seed always gives the same bytes. */
export function pseudoRandom(size: number, seed: number, compressible = false): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = compressible ? 97 + (x % 6) : x & 0xff;
  }
  return out;
}

/**
 * Other bytes with the same length and CRC-32 as `block`: what a checksum alone would take for a copy.
 * The CRC is linear, so one bit flipped at the start is cancelled by flipping a set of bits among the
 * last four bytes, found by Gaussian elimination over GF(2).
 */
export function crc32Twin(block: Buffer): Buffer {
  const n = block.length;
  const zero = crc32(Buffer.alloc(n));
  const effect = (byte: number, bit: number): number => {
    const flipped = Buffer.alloc(n);
    flipped[byte] = 1 << bit;
    return (crc32(flipped) ^ zero) >>> 0;
  };
  // A basis of the effects of the last 32 bits, each with the set of bits (a 32-bit mask) it combines.
  const basis = new Map<number, { effect: number; bits: number }>();
  for (let j = 0; j < 32; j++) {
    let e = effect(n - 4 + (j >> 3), j & 7);
    let bits = (1 << j) >>> 0;
    for (let top = 31; top >= 0 && e !== 0; top--) {
      if (((e >>> top) & 1) === 0) continue;
      const row = basis.get(top);
      if (!row) {
        basis.set(top, { effect: e, bits });
        break;
      }
      e = (e ^ row.effect) >>> 0;
      bits = (bits ^ row.bits) >>> 0;
    }
  }
  let left = effect(0, 0);
  let bits = 0;
  for (let top = 31; top >= 0; top--) {
    if (((left >>> top) & 1) === 0) continue;
    const row = basis.get(top)!;
    left = (left ^ row.effect) >>> 0;
    bits = (bits ^ row.bits) >>> 0;
  }
  const twin = Buffer.from(block);
  twin[0]! ^= 1;
  for (let j = 0; j < 32; j++) if ((bits >>> j) & 1) twin[n - 4 + (j >> 3)]! ^= 1 << (j & 7);
  return twin;
}

export const MTIME = new Date('2024-03-01T12:34:00Z');

export type PackEntry = Partial<Header> & { name: string; content?: Buffer };

/** Build a tar with tar-stream (the library real layers are often read with). */
export async function packTar(entries: PackEntry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((ok, fail) => {
    pack.on('end', ok);
    pack.on('error', fail);
  });
  for (const { content, ...header } of entries) {
    await new Promise<void>((ok, fail) => {
      pack.entry(
        { mtime: MTIME, uid: 0, gid: 0, ...header, size: content?.length ?? 0 },
        content ?? Buffer.alloc(0),
        (err) => (err ? fail(err) : ok()),
      );
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** A raw ustar/GNU header, for the header kinds tar-stream cannot write (GNU long names, base-256, binary PAX). */
export function rawHeader(fields: {
  /** A string is written as UTF-8; bytes as they are (names need not be UTF-8). */
  name: string | Buffer;
  type: string;
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string | Buffer;
  gnu?: boolean;
  base256Uid?: number;
}): Buffer {
  const b = Buffer.alloc(512);
  const bytes = (v: string | Buffer) => (typeof v === 'string' ? Buffer.from(v) : v);
  bytes(fields.name).copy(b, 0, 0, 100);
  const oct = (v: number, at: number, w: number) =>
    b.write(`${v.toString(8).padStart(w - 1, '0')}\0`, at, 'latin1');
  oct(fields.mode ?? 0o644, 100, 8);
  oct(fields.uid ?? 0, 108, 8);
  oct(fields.gid ?? 0, 116, 8);
  if (fields.base256Uid !== undefined) {
    b.fill(0, 108, 116);
    b[108] = 0x80;
    b.writeUInt32BE(fields.base256Uid, 112);
  }
  oct(fields.size ?? 0, 124, 12);
  oct(fields.mtime ?? Math.floor(MTIME.getTime() / 1000), 136, 12);
  b.write(fields.type, 156, 'latin1');
  bytes(fields.linkname ?? '').copy(b, 157, 0, 100);
  if (fields.gnu) b.write('ustar  \0', 257, 'latin1');
  else b.write('ustar\x0000', 257, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

/** `header` with the field at `at` rewritten as `text` (NUL-padded to `width`) and its checksum redone. */
export function withField(header: Buffer, at: number, width: number, text: string): Buffer {
  const b = Buffer.from(header);
  b.fill(0, at, at + width);
  b.write(text, at, width, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

export function pad(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

/** PAX records with binary-safe values. */
export function paxBlock(name: string, records: [string, Buffer | string][]): Buffer {
  const body = Buffer.concat(
    records.map(([k, v]) => {
      const rest = Buffer.concat([Buffer.from(` ${k}=`), Buffer.from(v), Buffer.from('\n')]);
      let len = rest.length + 1;
      while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
      return Buffer.concat([Buffer.from(String(len)), rest]);
    }),
  );
  return Buffer.concat([
    rawHeader({ name: `PaxHeaders/${name}`.slice(0, 99), type: 'x', size: body.length }),
    pad(body),
  ]);
}

export const END = Buffer.alloc(1024);

/** Regular layer content: every entry type, odd sizes, links, long names, duplicates and disorder. */
export async function featuresTar(): Promise<Buffer> {
  const big = pseudoRandom(300_000, 7, true);
  const longTarget = `${'t'.repeat(150)}/${'x'.repeat(3000)}`;
  return packTar([
    { name: 'etc/', type: 'directory', mode: 0o755 },
    { name: 'etc/hostname', content: Buffer.from('concil\n'), mode: 0o644, uid: 1000, gid: 1000 },
    { name: 'etc/empty', content: Buffer.alloc(0), mode: 0o600 },
    { name: 'etc/one', content: Buffer.from('1'), mode: 0o400 },
    { name: 'data/', type: 'directory', mode: 0o750, uid: 33, gid: 33 },
    { name: 'data/block-exact', content: pseudoRandom(131072, 3), mode: 0o644 },
    { name: 'data/block-plus-one', content: pseudoRandom(131073, 4, true), mode: 0o644 },
    { name: 'data/big', content: big, mode: 0o644 },
    { name: 'data/big-copy', content: Buffer.from(big), mode: 0o644 },
    { name: 'data/random', content: pseudoRandom(200_000, 9), mode: 0o644 },
    { name: 'data/zeros', content: Buffer.alloc(400_000), mode: 0o644 },
    { name: 'data/4095', content: pseudoRandom(4095, 11, true), mode: 0o644 },
    { name: 'bin/', type: 'directory', mode: 0o755 },
    { name: 'bin/su', content: Buffer.from('#!/bin/sh\n'), mode: 0o4755 },
    { name: 'bin/wall', content: Buffer.from('#!/bin/sh\necho\n'), mode: 0o2755, gid: 5 },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
    { name: 'bin/sh', type: 'symlink', linkname: 'busybox', mode: 0o777 },
    { name: 'bin/long-link', type: 'symlink', linkname: longTarget, mode: 0o777 },
    { name: 'bin/busybox', content: pseudoRandom(70_000, 5, true), mode: 0o755 },
    { name: 'bin/hardlink', type: 'link', linkname: 'bin/busybox', mode: 0o755 },
    { name: 'etc/hardlink-elsewhere', type: 'link', linkname: 'bin/busybox', mode: 0o755 },
    { name: 'dev/', type: 'directory', mode: 0o755 },
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o660, gid: 6 },
    { name: 'dev/nvme', type: 'block-device', devmajor: 259, devminor: 1, mode: 0o660 },
    { name: 'dev/fifo', type: 'fifo', mode: 0o644 },
    {
      name: `deep/${'long-directory-name-'.repeat(6)}/${'f'.repeat(120)}`,
      content: Buffer.from('deep'),
      mode: 0o644,
    },
    { name: 'implied/a/b/c/file', content: Buffer.from('implied'), mode: 0o644 },
    // Child before its parent's own entry: the later directory entry sets the attributes.
    { name: 'late/child', content: Buffer.from('child'), mode: 0o644 },
    { name: 'late/', type: 'directory', mode: 0o700, uid: 7, gid: 8 },
    { name: 'mtime/old', content: Buffer.from('x'), mtime: new Date('1990-01-01T00:00:00Z') },
    { name: 'mtime/new', content: Buffer.from('y'), mtime: new Date('2037-12-31T23:59:00Z') },
    { name: 'perm/none', content: Buffer.from('z'), mode: 0 },
  ]);
}

/** `latin1/café` in Latin-1: not valid UTF-8. */
export const LATIN1_NAME = Buffer.from([...Buffer.from('latin1/caf'), 0xe9]);

/** PAX and GNU extensions written byte by byte: xattrs (binary), big ids, GNU long names, base-256. */
export function extensionsTar(): Buffer {
  const cap = Buffer.from([
    0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  ]);
  const longName = `gnu/${'n'.repeat(180)}`;
  const longLink = `/${'l'.repeat(200)}`;
  const file = (name: string | Buffer, data: Buffer, extra: Partial<Parameters<typeof rawHeader>[0]> = {}) =>
    Buffer.concat([rawHeader({ name, type: '0', size: data.length, ...extra }), pad(data)]);
  return Buffer.concat([
    paxBlock('ping', [
      ['SCHILY.xattr.security.capability', cap],
      ['SCHILY.xattr.user.comment', 'hello xattr'],
    ]),
    file('bin/ping', Buffer.from('ping binary'), { mode: 0o755 }),
    paxBlock('shared1', [
      ['SCHILY.xattr.user.comment', 'hello xattr'],
      ['SCHILY.xattr.security.capability', cap],
    ]),
    file('bin/ping6', Buffer.from('ping6 binary'), { mode: 0o755 }),
    paxBlock('dirx', [['SCHILY.xattr.trusted.overlay.opaque', 'y']]),
    rawHeader({ name: 'opaque/', type: '5', mode: 0o755 }),
    paxBlock('symx', [['SCHILY.xattr.user.sym', 'on a link']]),
    rawHeader({ name: 'opaque/link', type: '2', linkname: '../bin/ping', mode: 0o777 }),
    paxBlock('bigid', [
      ['uid', '4000000'],
      ['gid', '70000'],
      ['mtime', '1700000000.123456'],
    ]),
    file('ids/big', Buffer.from('big ids')),
    paxBlock('path', [['path', `pax/${'p'.repeat(200)}/${'q'.repeat(100)}`]]),
    file('ignored-name', Buffer.from('pax path')),
    Buffer.concat([
      rawHeader({ name: '././@LongLink', type: 'L', size: longName.length + 1, gnu: true }),
      pad(Buffer.from(`${longName}\0`)),
    ]),
    file(longName.slice(0, 99), Buffer.from('gnu long name'), { gnu: true }),
    Buffer.concat([
      rawHeader({ name: '././@LongLink', type: 'K', size: longLink.length, gnu: true }),
      pad(Buffer.from(longLink)),
    ]),
    rawHeader({ name: 'gnu/longlink', type: '2', linkname: longLink.slice(0, 99), gnu: true, mode: 0o777 }),
    file('gnu/base256', Buffer.from('base-256 uid'), { gnu: true, base256Uid: 3_000_000 }),
    // Names are bytes: a Latin-1 name and link target that are not UTF-8.
    file(LATIN1_NAME, Buffer.from('latin-1 name')),
    rawHeader({
      name: Buffer.from('latin1/link'),
      type: '2',
      linkname: Buffer.from([0x63, 0x61, 0x66, 0xe9]),
    }),
    END,
  ]);
}

/** Duplicate paths (the later entry wins, whatever its type) and, separately, what should remain. */
export async function duplicatesTars(): Promise<{ withDuplicates: Buffer; resolved: Buffer }> {
  const final: PackEntry[] = [
    { name: 'etc/dup', content: Buffer.from('second version'), mode: 0o640 },
    { name: 'etc/was-link', content: Buffer.from('now a file'), mode: 0o644 },
    { name: 'etc/was-file', type: 'symlink', linkname: 'dup', mode: 0o777 },
    { name: 'etc/', type: 'directory', mode: 0o700 },
  ];
  const withDuplicates = await packTar([
    { name: 'etc/', type: 'directory', mode: 0o755 },
    { name: 'etc/dup', content: Buffer.from('first'), mode: 0o644 },
    { name: 'etc/was-link', type: 'symlink', linkname: 'hostname', mode: 0o777 },
    { name: 'etc/was-file', content: Buffer.from('file first'), mode: 0o644 },
    ...final,
  ]);
  return { withDuplicates, resolved: await packTar(final) };
}

/** OCI whiteouts: plain files by default, overlayfs whiteouts on request. */
export async function whiteoutTar(): Promise<Buffer> {
  return packTar([
    { name: 'etc/', type: 'directory', mode: 0o755 },
    { name: 'etc/.wh.passwd', content: Buffer.alloc(0), mode: 0o644 },
    { name: 'var/', type: 'directory', mode: 0o755 },
    { name: 'var/.wh..wh..opq', content: Buffer.alloc(0), mode: 0o644 },
    { name: 'var/new', content: Buffer.from('new'), mode: 0o644 },
    { name: '.wh.root-gone', content: Buffer.alloc(0), mode: 0o644 },
  ]);
}

/** Enough entries in one directory to need several metadata blocks and a directory index. */
export async function largeDirTar(count = 3000): Promise<Buffer> {
  const entries: PackEntry[] = [{ name: 'many/', type: 'directory', mode: 0o755 }];
  for (let i = 0; i < count; i++) {
    entries.push({
      name: `many/entry-with-a-fairly-long-name-${String(i).padStart(5, '0')}`,
      content: Buffer.from(`${i}\n`),
    });
  }
  return packTar(entries);
}

/** A tar that stops right after the last entry's data: no padding, no end-of-archive blocks (umoci 0.4.7). */
export async function unpaddedTar(): Promise<Buffer> {
  const content = Buffer.from('last file, 30 bytes of data..\n');
  const tidy = await packTar([
    { name: 'a/', type: 'directory', mode: 0o755 },
    { name: 'a/first', content: Buffer.from('first') },
    { name: 'a/last', content },
  ]);
  const lastHeader = tidy.length - 1024 - 512 - 512; // header of a/last, its one data block, the end blocks
  return tidy.subarray(0, lastHeader + 512 + content.length);
}

/** UTF-8 names (PAX and plain ustar) and a Latin-1 name that is not valid UTF-8, stored byte for byte. */
export function namesTar(): Buffer {
  const file = (name: Buffer, data: string) => {
    const h = rawHeader({ name: 'x', type: '0', size: data.length });
    h.fill(0, 0, 100);
    name.copy(h, 0);
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const x of h) sum += x;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    return Buffer.concat([h, pad(Buffer.from(data))]);
  };
  return Buffer.concat([
    file(Buffer.from('names/grüße.txt'), 'utf-8 in ustar'),
    file(Buffer.from('names/日本語'), 'cjk'),
    file(
      Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x73, 0x2f, 0x6c, 0x61, 0x74, 0x69, 0x6e, 0xe9]),
      'latin-1 byte',
    ),
    paxBlock('u', [['path', `names/${'ü'.repeat(60)}/${'é'.repeat(120)}`]]),
    file(Buffer.from('ignored'), 'pax utf-8'),
    rawHeader({ name: 'names/link-ä', type: '2', linkname: 'grüße.txt', mode: 0o777 }),
    END,
  ]);
}
