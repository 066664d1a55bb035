import { ByteSource } from './byte-source.js';
import { readablePath, SquashfsError } from './errors.js';
import { holeChunks } from './hole.js';

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'directory' | 'char' | 'block' | 'fifo';

/**
 * One tar entry with all extension headers (PAX, GNU long names, sparse maps) already applied.
 * Names and link targets are "binary" strings (one char per byte, latin1) so that names that are
 * not UTF-8 reach the image byte for byte; the image writer encodes them back with latin1.
 */
export interface TarEntry {
  /** Path as stored in the archive (not yet normalised). */
  name: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  /** Logical size of the file (for sparse files: including holes). */
  size: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs: ReadonlyMap<string, Buffer>;
  /** The file content, holes filled with zeros. Must be consumed before asking for the next entry. */
  body(): AsyncGenerator<Buffer>;
  /**
   * The whole content as one view when the reader holds it already (most files are small): no
   * generator, no waiting. Consumed then, as by body(); undefined otherwise, and then body() it is.
   */
  buffered(): Buffer | undefined;
  /**
   * With `keepHeaders`: the entry's header blocks exactly as the archive stores them, its PAX and
   * GNU long-name headers (with their data and padding) first, so the archive can be written again
   * byte for byte from the headers and the content.
   */
  rawHeader?: Buffer;
}

export interface ReadTarOptions {
  /** Keep each entry's header bytes (`rawHeader`). */
  keepHeaders?: boolean;
}

const BLOCK = 512;
/**
 * A PAX header or GNU long name is held in memory whole. Real ones are small (names, times, xattrs
 * of at most 64 KiB each); a hostile size must not take the process's memory.
 */
const MAX_META_SIZE = 16 << 20;
/**
 * Segments a sparse file's map may list: a megabyte of them (24 MiB of GNU map headers) is far past
 * what real sparse files hold, and each costs memory, so a hostile map must not run on.
 */
const MAX_SPARSE_SEGMENTS = 1 << 20;

function tooManySegments(name: string): SquashfsError {
  return new SquashfsError(
    'LIMIT_EXCEEDED',
    `tar sparse map lists more than ${MAX_SPARSE_SEGMENTS} segments; this reader holds at most that many`,
    readablePath(name),
  );
}
/** Shared empty xattr map: most entries have none. */
const NO_XATTRS: ReadonlyMap<string, Buffer> = new Map();
const ZERO_BLOCK = Buffer.alloc(BLOCK);

interface SparseSegment {
  offset: number;
  size: number;
}

/** `n` if it is a whole, non-negative number of bytes; else the archive is corrupt (`what` holds it). */
function byteCount(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new SquashfsError('TAR_CORRUPT', `tar ${what} holds ${n}, which is not a number of bytes`);
  }
  return n;
}

/** Linux's XATTR_NAME_MAX: no system holds a longer name, and squashfs stores its length in 16 bits. */
const XATTR_NAME_MAX = 255;

function xattrName(key: string, entryName: string): string {
  const bytes = Buffer.byteLength(key);
  if (bytes > XATTR_NAME_MAX) {
    throw new SquashfsError(
      'LIMIT_EXCEEDED',
      `an xattr name is ${bytes} bytes long, more than Linux allows (${XATTR_NAME_MAX})`,
      readablePath(entryName),
    );
  }
  return key;
}

/** libarchive writes xattr names URL-encoded. */
function libarchiveName(key: string, entryName: string): string {
  try {
    return decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length));
  } catch {
    throw new SquashfsError(
      'TAR_CORRUPT',
      `tar PAX key "${key}" is not URL-encoded`,
      readablePath(entryName),
    );
  }
}

function truncated(what: string): SquashfsError {
  return new SquashfsError('TAR_TRUNCATED', `tar stream ends inside ${what}: the archive is truncated`);
}

/** A NUL-terminated header field, read in place. */
function cstring(buf: Buffer, start: number, len: number): string {
  let end = start;
  while (end < start + len && buf[end] !== 0) end++;
  return buf.toString('latin1', start, end);
}

const SPACE = 0x20;
const DIGIT_0 = 0x30;

/**
 * Tar numbers are octal text (leading spaces, then digits up to a NUL or space), or base-256
 * big-endian when the first byte has its high bit set. Read off the bytes, without making strings:
 * there are seven per header.
 */
function number(buf: Buffer, start: number, len: number): number {
  const first = buf[start]!;
  if (first & 0x80) {
    let v = first & 0x3f;
    if (first & 0x40) throw new SquashfsError('TAR_CORRUPT', 'tar header holds a negative number');
    for (let i = 1; i < len; i++) v = v * 256 + buf[start + i]!;
    return v;
  }
  const end = start + len;
  let i = start;
  while (i < end && buf[i] === SPACE) i++;
  if (i === end || buf[i] === 0) return 0; // an empty field
  const digits = i;
  let v = 0;
  for (; i < end; i++) {
    const digit = buf[i]! - DIGIT_0;
    if (digit < 0 || digit > 7) break;
    v = v * 8 + digit;
  }
  if (i === digits) {
    const text = cstring(buf, start, len).trim();
    throw new SquashfsError('TAR_CORRUPT', `tar header holds a bad number "${text}"`);
  }
  return v;
}

const USTAR = Buffer.from('ustar', 'latin1');

/** POSIX ustar ("ustar\0" + version) has a name prefix field; GNU ("ustar  ") uses those bytes otherwise. */
function isPosixUstar(h: Buffer): boolean {
  return h[262] !== 0x20 && h.compare(USTAR, 0, USTAR.length, 257, 262) === 0;
}

/** The checksum field counts as eight spaces. */
const CHECKSUM_FIELD_SUM = 8 * 0x20;

/** The header's stored checksum: its bytes summed unsigned, as POSIX says, or signed, as some old tars did. */
function checksumOk(h: Buffer): boolean {
  const stored = number(h, 148, 8);
  let unsigned = CHECKSUM_FIELD_SUM;
  for (let i = 0; i < 148; i++) unsigned += h[i]!;
  for (let i = 156; i < BLOCK; i++) unsigned += h[i]!;
  if (stored === unsigned) return true;
  let signed = CHECKSUM_FIELD_SUM;
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) signed += (h[i]! << 24) >> 24;
  return stored === signed;
}

/**
 * Parse PAX records ("<len> <key>=<value>\n"). Values are binary strings (one char per byte, as names
 * are): xattr values are bytes, and a short string costs less than a Buffer on every entry.
 */
function parsePax(data: Buffer, into: Map<string, string>): void {
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space === -1) break;
    const len = decimal(data, pos, space);
    if (len <= 0 || pos + len > data.length) {
      throw new SquashfsError('TAR_CORRUPT', 'tar PAX header has a malformed record');
    }
    const end = pos + len - 1; // before the trailing newline
    const eq = data.indexOf(0x3d, space + 1);
    if (eq !== -1 && eq < end && !unused(data, space + 1, eq)) {
      into.set(data.toString('utf8', space + 1, eq), data.toString('latin1', eq + 1, end));
    }
    pos += len;
  }
}

/** A PAX record's length: decimal digits; -1 when there are none or something else. */
function decimal(data: Buffer, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const digit = data[i]! - DIGIT_0;
    if (digit < 0 || digit > 9) return -1;
    n = n * 10 + digit;
  }
  return end > start ? n : -1;
}

/** Keys that say nothing squashfs stores, on most entries of a PAX tar: skipped without making strings. */
const UNUSED_KEYS = ['atime', 'ctime'].map((key) => Buffer.from(key, 'latin1'));

function unused(data: Buffer, start: number, end: number): boolean {
  return UNUSED_KEYS.some(
    (key) => key.length === end - start && data.compare(key, 0, key.length, start, end) === 0,
  );
}

function typeOf(flag: string): TarEntryType | undefined {
  switch (flag) {
    case '0':
    case '\0':
    case '7':
    case 'S':
      return 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '3':
      return 'char';
    case '4':
      return 'block';
    case '5':
      return 'directory';
    case '6':
      return 'fifo';
    default:
      return undefined;
  }
}

function parseSparseEntries(buf: Buffer, start: number, count: number, into: SparseSegment[]): void {
  for (let i = 0; i < count; i++) {
    const o = start + i * 24;
    if (buf[o] === 0) continue;
    into.push({ offset: number(buf, o, 12), size: number(buf, o + 12, 12) });
  }
}

/**
 * Read a tar stream entry by entry. Accepts ustar, GNU and PAX archives, and archives that stop right
 * after the last entry's data without padding or end-of-archive blocks (as umoci writes them).
 */
export async function* readTar(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: ReadTarOptions = {},
): AsyncGenerator<TarEntry> {
  const input = new ByteSource(source);
  // The header bytes of the entry being read, copied: the reader's buffers are reused.
  let raw: Buffer[] | undefined = options.keepHeaders ? [] : undefined;
  const keep = (bytes: Buffer, padding = 0) => {
    raw?.push(Buffer.from(bytes));
    if (raw && padding > 0) raw.push(Buffer.alloc(padding));
  };
  const globalPax = new Map<string, string>();
  const pax = new Map<string, string>();
  let longName: string | undefined;
  let longLink: string | undefined;
  try {
    for (;;) {
      const header = input.take(BLOCK) ?? (await input.read(BLOCK));
      if (header.length === 0) return;
      if (header.length < BLOCK) throw truncated('a tar header');
      if (header.equals(ZERO_BLOCK)) return; // end-of-archive marker
      if (!checksumOk(header)) {
        throw new SquashfsError(
          'TAR_CORRUPT',
          `tar header at byte ${input.consumed - BLOCK} has a bad checksum: the input is not an uncompressed tar or is corrupt`,
        );
      }
      const flag = String.fromCharCode(header[156]!);
      const storedSize = number(header, 124, 12);
      const padding = (BLOCK - (storedSize % BLOCK)) % BLOCK;
      keep(header);

      if (flag === 'x' || flag === 'g') {
        const data = await readMeta(input, storedSize, 'a PAX header');
        keep(data, padding);
        parsePax(data, flag === 'x' ? pax : globalPax);
        continue;
      }
      if (flag === 'L' || flag === 'K') {
        const data = await readMeta(input, storedSize, 'a GNU long name');
        keep(data, padding);
        const end = data.indexOf(0);
        const text = data.toString('latin1', 0, end === -1 ? data.length : end);
        if (flag === 'L') longName = text;
        else longLink = text;
        continue;
      }
      const type = typeOf(flag);
      if (type === undefined) {
        // Volume labels, multi-volume continuations and the like carry no file: skip them.
        await input.skip(storedSize + padding);
        pax.clear();
        longName = longLink = undefined;
        if (raw) raw = [];
        continue;
      }

      const ext = globalPax.size === 0 ? pax : new Map([...globalPax, ...pax]);
      const text = (key: string): string | undefined => ext.get(key);
      const num = (key: string, fallback: number): number => paxNumber(ext, key, fallback);
      const count = (key: string, fallback: number): number => byteCount(num(key, fallback), `PAX ${key}`);

      // Every header field is read now: the sparse map blocks read below may come through a buffer the
      // header's bytes shared, and reused since (a map can run over megabytes).
      const mode = number(header, 100, 8);
      const uid = number(header, 108, 8);
      const gid = number(header, 116, 8);
      const mtime = number(header, 136, 12);
      const devmajor = number(header, 329, 8);
      const devminor = number(header, 337, 8);
      let name = cstring(header, 0, 100);
      if (isPosixUstar(header)) {
        const prefix = cstring(header, 345, 155);
        if (prefix) name = `${prefix}/${name}`;
      }
      name = text('GNU.sparse.name') ?? text('path') ?? longName ?? name;
      const linkname = text('linkpath') ?? longLink ?? cstring(header, 157, 100);

      const xattrs = ext.size > 0 ? xattrsOf(ext, name) : undefined;

      // Sparse files: collect the map of stored segments and the logical size.
      let sparse: SparseSegment[] | undefined;
      let dataSize = ext.has('size') && flag !== 'S' ? count('size', storedSize) : storedSize;
      let logicalSize = dataSize;
      let consumedMap = 0;
      if (flag === 'S') {
        sparse = [];
        parseSparseEntries(header, 386, 4, sparse);
        logicalSize = number(header, 483, 12);
        let extended = header[482] === 1;
        while (extended) {
          const extBlock = await input.read(BLOCK);
          if (extBlock.length < BLOCK) throw truncated('a GNU sparse header');
          keep(extBlock);
          parseSparseEntries(extBlock, 0, 21, sparse);
          if (sparse.length > MAX_SPARSE_SEGMENTS) throw tooManySegments(name);
          extended = extBlock[504] === 1;
        }
      } else if (text('GNU.sparse.major') === '1') {
        // PAX sparse 1.0: the map is text at the start of the data, padded to a block.
        sparse = [];
        logicalSize = count('GNU.sparse.realsize', 0);
        let mapText = '';
        const numbers: number[] = [];
        let needed = -1;
        while (needed === -1 || numbers.length < 1 + needed * 2) {
          const block = await input.read(BLOCK);
          if (block.length < BLOCK) throw truncated('a PAX sparse map');
          consumedMap += BLOCK;
          mapText += block.toString('latin1');
          const lines = mapText.split('\n');
          mapText = lines.pop() ?? '';
          for (const line of lines) {
            if (line.replace(/\0/g, '') === '') continue;
            numbers.push(byteCount(Number(line), 'PAX sparse map'));
            if (needed === -1) needed = numbers[0]!;
            if (needed > MAX_SPARSE_SEGMENTS) throw tooManySegments(name);
          }
          if (needed === 0) break;
        }
        for (let i = 0; i < needed; i++)
          sparse.push({ offset: numbers[1 + i * 2]!, size: numbers[2 + i * 2]! });
        if (consumedMap > storedSize) {
          throw new SquashfsError(
            'TAR_CORRUPT',
            `tar PAX sparse map of ${readablePath(name)} runs past its data`,
          );
        }
        dataSize = storedSize - consumedMap;
      } else if (ext.has('GNU.sparse.map') || ext.has('GNU.sparse.offset')) {
        sparse = [];
        logicalSize = count('GNU.sparse.size', count('GNU.sparse.realsize', storedSize));
        const parts = (text('GNU.sparse.map') ?? '').split(',').filter((s) => s !== '');
        if (parts.length > 2 * MAX_SPARSE_SEGMENTS) throw tooManySegments(name);
        for (let i = 0; i + 1 < parts.length; i += 2) {
          sparse.push({
            offset: byteCount(Number(parts[i]), 'PAX sparse map'),
            size: byteCount(Number(parts[i + 1]), 'PAX sparse map'),
          });
        }
      }

      const entry: TarEntry = {
        name,
        type,
        mode: num('mode', mode) & 0o7777,
        uid: num('uid', uid),
        gid: num('gid', gid),
        mtime: Math.floor(num('mtime', mtime)),
        size: type === 'file' ? logicalSize : 0,
        linkname,
        devmajor: num('SCHILY.devmajor', devmajor),
        devminor: num('SCHILY.devminor', devminor),
        xattrs: xattrs ?? NO_XATTRS,
        body: emptyBody,
        buffered: notBuffered,
        ...(raw && { rawHeader: Buffer.concat(raw) }),
      };
      if (raw) raw = [];
      pax.clear(); // what the entry needs of it is read off already
      longName = longLink = undefined;

      let consumed = false;
      const what = () => `the data of ${readablePath(name)}`;
      if (type === 'file') {
        entry.body = () => {
          consumed = true;
          return sparse
            ? sparseBody(input, dataSize, logicalSize, sparse, what)
            : input.stream(dataSize, what);
        };
        if (!sparse) {
          entry.buffered = () => {
            const content = input.take(dataSize);
            if (content) consumed = true;
            return content;
          };
        }
      }
      yield entry;
      if (!consumed && type === 'file') {
        if ((await input.skip(dataSize)) < dataSize) throw truncated(what());
      } else if (type !== 'file' && dataSize > 0) {
        // Hard links and directories rarely carry data; skip it if they do.
        if ((await input.skip(dataSize)) < dataSize) throw truncated(what());
      }
      // A missing final padding is fine: umoci ends its layers right after the last byte of data.
      const finalPadding = (BLOCK - ((dataSize + consumedMap) % BLOCK)) % BLOCK;
      if (!input.skipHere(finalPadding)) await input.skip(finalPadding);
    }
  } finally {
    await input.close();
  }
}

async function* emptyBody(): AsyncGenerator<Buffer> {}

function notBuffered(): undefined {
  return undefined;
}

/** A PAX header or GNU long name, held whole (it is small: see MAX_META_SIZE), and its padding skipped. */
async function readMeta(input: ByteSource, storedSize: number, what: string): Promise<Buffer> {
  if (storedSize > MAX_META_SIZE) {
    throw new SquashfsError(
      'LIMIT_EXCEEDED',
      `tar header at byte ${input.consumed - BLOCK} declares ${what} of ${storedSize} bytes; ` +
        `this reader holds at most ${MAX_META_SIZE} in memory`,
    );
  }
  const data = input.take(storedSize) ?? (await input.read(storedSize));
  if (data.length < storedSize) throw truncated(what);
  const padding = (BLOCK - (storedSize % BLOCK)) % BLOCK;
  if (!input.skipHere(padding)) await input.skip(padding);
  return data;
}

/** A numeric PAX value, `fallback` when absent; a value that is no number makes the archive corrupt. */
function paxNumber(ext: ReadonlyMap<string, string>, key: string, fallback: number): number {
  const v = ext.get(key);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new SquashfsError('TAR_CORRUPT', `tar PAX ${key} is not a number: ${v}`);
  return n;
}

/** The xattrs PAX records carry (star's and libarchive's forms); undefined when none, as on most entries. */
function xattrsOf(ext: ReadonlyMap<string, string>, name: string): Map<string, Buffer> | undefined {
  let xattrs: Map<string, Buffer> | undefined;
  ext.forEach((v, k) => {
    if (k.startsWith('SCHILY.xattr.')) {
      xattrs ??= new Map();
      xattrs.set(xattrName(k.slice('SCHILY.xattr.'.length), name), Buffer.from(v, 'latin1'));
    } else if (k.startsWith('LIBARCHIVE.xattr.')) {
      xattrs ??= new Map();
      xattrs.set(xattrName(libarchiveName(k, name), name), Buffer.from(v, 'base64'));
    }
  });
  return xattrs;
}

/** Expand a sparse file's stored segments into the logical content, holes as zeros. */
async function* sparseBody(
  input: ByteSource,
  dataSize: number,
  logicalSize: number,
  map: SparseSegment[],
  what: () => string,
): AsyncGenerator<Buffer> {
  let pos = 0;
  let stored = 0;
  for (const seg of [...map].sort((a, b) => a.offset - b.offset)) {
    if (seg.offset < pos || seg.offset + seg.size > logicalSize || stored + seg.size > dataSize) {
      throw new SquashfsError('TAR_CORRUPT', `tar sparse map of ${what()} is inconsistent`);
    }
    yield* holeChunks(seg.offset - pos);
    yield* input.stream(seg.size, what);
    pos = seg.offset + seg.size;
    stored += seg.size;
  }
  yield* holeChunks(logicalSize - pos);
  if (stored < dataSize) {
    if ((await input.skip(dataSize - stored)) < dataSize - stored) throw truncated(what());
  }
}
