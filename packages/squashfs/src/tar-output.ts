/** Minimal ustar + PAX writer: PAX carries long names, big numbers and binary-safe xattr values. */

const BLOCK = 512;
const END_OF_ARCHIVE = Buffer.alloc(BLOCK * 2);

export interface TarHeader {
  /** Bytes, or a string written as UTF-8. */
  name: string | Buffer;
  type: 'file' | 'hardlink' | 'symlink' | 'directory' | 'char' | 'block' | 'fifo';
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  linkname?: string | Buffer;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Buffer>;
}

const TYPE_FLAGS: Record<TarHeader['type'], string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  directory: '5',
  fifo: '6',
};

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  // The length prefix counts itself, so grow it until it is stable.
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

function octal(buf: Buffer, value: number, at: number, width: number): boolean {
  const digits = value.toString(8);
  if (digits.length > width - 1) return false;
  buf.write(`${digits.padStart(width - 1, '0')}\0`, at, 'latin1');
  return true;
}

function ustar(h: TarHeader, name: Buffer, link: Buffer, type: string, size: number): Buffer {
  const b = Buffer.alloc(BLOCK);
  name.copy(b, 0, 0, Math.min(name.length, 100));
  octal(b, h.mode & 0o7777, 100, 8);
  if (!octal(b, h.uid, 108, 8)) octal(b, 0, 108, 8);
  if (!octal(b, h.gid, 116, 8)) octal(b, 0, 116, 8);
  octal(b, size, 124, 12);
  if (!octal(b, Math.max(0, h.mtime), 136, 12)) octal(b, 0, 136, 12);
  b.write(type, 156, 'latin1');
  link.copy(b, 157, 0, Math.min(link.length, 100));
  b.write('ustar\x0000', 257, 'latin1');
  if (!octal(b, h.devmajor ?? 0, 329, 8)) octal(b, 0, 329, 8);
  if (!octal(b, h.devminor ?? 0, 337, 8)) octal(b, 0, 337, 8);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i]!;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** Encode an entry's header (with a PAX header before it when needed). */
export function encodeTarHeader(h: TarHeader): Buffer {
  const name = Buffer.isBuffer(h.name) ? h.name : Buffer.from(h.name);
  const link = Buffer.isBuffer(h.linkname) ? h.linkname : Buffer.from(h.linkname ?? '');
  const records: Buffer[] = [];
  if (name.length > 100) records.push(paxRecord('path', name));
  if (link.length > 100) records.push(paxRecord('linkpath', link));
  if (h.uid > 0o7777777) records.push(paxRecord('uid', Buffer.from(String(h.uid))));
  if (h.gid > 0o7777777) records.push(paxRecord('gid', Buffer.from(String(h.gid))));
  if (h.size > 0o77777777777) records.push(paxRecord('size', Buffer.from(String(h.size))));
  for (const [k, v] of Object.entries(h.xattrs ?? {})) records.push(paxRecord(`SCHILY.xattr.${k}`, v));
  const main = ustar(h, name, link, TYPE_FLAGS[h.type], h.type === 'file' ? h.size : 0);
  if (records.length === 0) return main;
  const pax = Buffer.concat(records);
  const paxName = Buffer.from(`PaxHeaders/${name.subarray(0, 80).toString('latin1')}`, 'latin1');
  const paxHeader = ustar({ ...h, type: 'file' }, paxName, Buffer.alloc(0), 'x', pax.length);
  return Buffer.concat([paxHeader, pax, padding(pax.length), main]);
}

export function tarPadding(size: number): Buffer {
  return padding(size);
}

export { END_OF_ARCHIVE };
