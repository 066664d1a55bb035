import { Readable } from 'node:stream';
import { type Codec, compressorForImage } from './compressor.js';
import { corrupt, readablePath, SquashfsError } from './errors.js';
import {
  DATA_UNCOMPRESSED,
  decodeDevice,
  Flags,
  InodeType,
  METADATA_SIZE,
  NO_FRAGMENT,
  NO_XATTR,
} from './format.js';
import { ImageFile } from './image-file.js';
import { MetadataCursor, MetadataReader } from './metadata-reader.js';
import { ABSENT_TABLE, decodeSuperblock, type Superblock } from './superblock.js';
import { joinXattrKey, XATTR_VALUE_OOL } from './xattr.js';

export type SquashfsEntryType = 'directory' | 'file' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

/** One directory entry of an image with its inode's metadata. */
export interface SquashfsEntry {
  /** Path relative to the root, '/'-separated, '' for the root itself; names shown decoded as UTF-8. */
  path: string;
  /** The path's bytes as stored: names need not be UTF-8, and these round-trip exactly. */
  pathBytes: Buffer;
  type: SquashfsEntryType;
  /** Permission bits (including setuid/setgid/sticky), without the file type. */
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  /** File size in bytes (0 for everything but files and symlinks; a symlink's is its target length). */
  size: number;
  linkTarget?: string;
  /** The symlink target's bytes as stored. */
  linkTargetBytes?: Buffer;
  devMajor?: number;
  devMinor?: number;
  xattrs: Record<string, Buffer>;
  nlink: number;
  inodeNumber: number;
}

interface FileInfo {
  blocksStart: number;
  blockSizes: Uint32Array;
  fragment: number;
  fragmentOffset: number;
}

interface DirInfo {
  start: number;
  offset: number;
  size: number;
}

interface Inode {
  entry: Omit<SquashfsEntry, 'path' | 'pathBytes'>;
  file?: FileInfo;
  dir?: DirInfo;
}

/** No sane directory listing is this large (about 5 million entries); a bigger one means corruption. */
const MAX_LISTING = 256 * 1024 * 1024;

const TYPE_NAMES: Record<number, SquashfsEntryType> = {
  1: 'directory',
  2: 'file',
  3: 'symlink',
  4: 'block',
  5: 'char',
  6: 'fifo',
  7: 'socket',
};

/** Random-access reader of a squashfs 4.0 image. */
export class SquashfsReader {
  readonly superblock: Superblock;
  readonly compressor: Codec;
  private readonly file: ImageFile;
  private readonly meta: MetadataReader;
  private readonly ids: number[];
  private fragmentTable: Buffer | undefined;
  private xattrHeader: { kvStart: number; count: number; locations: number[] } | undefined;
  private byPath: Map<string, SquashfsEntry> | undefined;
  private readonly refs = new Map<string, number>();

  constructor(path: string) {
    this.file = new ImageFile(path);
    try {
      this.superblock = decodeSuperblock(this.file.read(0, Math.min(96, this.file.size), 'superblock'), path);
      const sb = this.superblock;
      if (sb.bytesUsed > this.file.size) {
        throw corrupt(
          `image claims ${sb.bytesUsed} bytes but the file has ${this.file.size} (truncated?)`,
          path,
        );
      }
      let options: Buffer | undefined;
      if (sb.flags & Flags.COMPRESSOR_OPTIONS) {
        const h = this.file.read(96, 2, 'compressor options').readUInt16LE(0);
        options = this.file.read(98, Math.min(h & 0x7fff, 64), 'compressor options');
      }
      this.compressor = compressorForImage(sb.compressionId, options, sb.blockSize, path);
      this.meta = new MetadataReader(this.file, this.compressor);
      for (const [name, start] of [
        ['inode table', sb.inodeTableStart],
        ['directory table', sb.directoryTableStart],
        ['id table', sb.idTableStart],
      ] as const) {
        if (start < 96 || start >= sb.bytesUsed)
          throw corrupt(`${name} offset ${start} is out of range`, path);
      }
      this.ids = [];
      const idData = this.lookupTable(sb.idTableStart, sb.idCount, 4, 'id table');
      for (let i = 0; i < sb.idCount; i++) this.ids.push(idData.readUInt32LE(i * 4));
    } catch (err) {
      this.file.close();
      throw err;
    }
  }

  get path(): string {
    return this.file.path;
  }

  get blockSize(): number {
    return this.superblock.blockSize;
  }

  close(): void {
    this.file.close();
  }

  /** Read the entries of a lookup table (ids, fragments, xattr ids) into one buffer. */
  private lookupTable(listStart: number, count: number, entrySize: number, what: string): Buffer {
    const bytes = count * entrySize;
    const blocks = Math.ceil(bytes / METADATA_SIZE);
    const list = this.file.read(listStart, blocks * 8, `${what} location list`);
    const parts: Buffer[] = [];
    for (let i = 0; i < blocks; i++) {
      const loc = Number(list.readBigUInt64LE(i * 8));
      const want = Math.min(METADATA_SIZE, bytes - i * METADATA_SIZE);
      const block = this.meta.block(loc).data;
      if (block.length < want) throw corrupt(`${what} block ${i} is short`, this.path);
      parts.push(block.subarray(0, want));
    }
    return Buffer.concat(parts);
  }

  private id(index: number): number {
    const v = this.ids[index];
    if (v === undefined)
      throw corrupt(`inode uses id index ${index} but the id table has ${this.ids.length}`, this.path);
    return v;
  }

  private inodeCursor(ref: number): MetadataCursor {
    const block = Math.floor(ref / 0x10000);
    const offset = ref % 0x10000;
    const pos = this.superblock.inodeTableStart + block;
    if (pos >= this.superblock.directoryTableStart || offset >= METADATA_SIZE) {
      throw corrupt(`inode reference ${block}:${offset} points outside the inode table`, this.path);
    }
    return new MetadataCursor(this.meta, pos, offset);
  }

  /** Parse the inode at a reference. */
  private inode(ref: number): Inode {
    const c = this.inodeCursor(ref);
    const h = c.take(16);
    const type = h.readUInt16LE(0);
    const basic = type > 7 ? type - 7 : type;
    const kind = TYPE_NAMES[basic];
    if (kind === undefined || type > 14 || type === 0) throw corrupt(`unknown inode type ${type}`, this.path);
    const entry: Omit<SquashfsEntry, 'path' | 'pathBytes'> = {
      type: kind,
      mode: h.readUInt16LE(2) & 0o7777,
      uid: this.id(h.readUInt16LE(4)),
      gid: this.id(h.readUInt16LE(6)),
      mtime: h.readUInt32LE(8),
      inodeNumber: h.readUInt32LE(12),
      size: 0,
      xattrs: {},
      nlink: 1,
    };
    let xattr = NO_XATTR;
    const inode: Inode = { entry };
    const bs = this.superblock.blockSize;
    switch (type) {
      case InodeType.DIR: {
        const b = c.take(16);
        entry.nlink = b.readUInt32LE(4);
        inode.dir = { start: b.readUInt32LE(0), size: b.readUInt16LE(8), offset: b.readUInt16LE(10) };
        break;
      }
      case InodeType.LDIR: {
        const b = c.take(24);
        entry.nlink = b.readUInt32LE(0);
        inode.dir = { size: b.readUInt32LE(4), start: b.readUInt32LE(8), offset: b.readUInt16LE(18) };
        xattr = b.readUInt32LE(20);
        break;
      }
      case InodeType.FILE:
      case InodeType.LFILE: {
        let blocksStart: number;
        let fragment: number;
        let fragmentOffset: number;
        if (type === InodeType.FILE) {
          const b = c.take(16);
          blocksStart = b.readUInt32LE(0);
          fragment = b.readUInt32LE(4);
          fragmentOffset = b.readUInt32LE(8);
          entry.size = b.readUInt32LE(12);
        } else {
          const b = c.take(40);
          blocksStart = Number(b.readBigUInt64LE(0));
          entry.size = Number(b.readBigUInt64LE(8));
          entry.nlink = b.readUInt32LE(24);
          fragment = b.readUInt32LE(28);
          fragmentOffset = b.readUInt32LE(32);
          xattr = b.readUInt32LE(36);
        }
        const count = fragment === NO_FRAGMENT ? Math.ceil(entry.size / bs) : Math.floor(entry.size / bs);
        // Each compressed metadata byte can hold at most a few KiB of block list: bound before allocating.
        const tableBytes = this.superblock.directoryTableStart - this.superblock.inodeTableStart;
        if (!Number.isSafeInteger(entry.size) || count * 4 > tableBytes * METADATA_SIZE) {
          throw corrupt(`file inode claims an impossible size ${entry.size}`, this.path);
        }
        const sizes = c.take(count * 4);
        const blockSizes = new Uint32Array(count);
        for (let i = 0; i < count; i++) blockSizes[i] = sizes.readUInt32LE(i * 4);
        inode.file = { blocksStart, blockSizes, fragment, fragmentOffset };
        break;
      }
      case InodeType.SYMLINK:
      case InodeType.LSYMLINK: {
        const b = c.take(8);
        entry.nlink = b.readUInt32LE(0);
        const len = b.readUInt32LE(4);
        if (len > 0xffff * 16) throw corrupt(`symlink target length ${len} is implausible`, this.path);
        entry.linkTargetBytes = Buffer.from(c.take(len));
        entry.linkTarget = entry.linkTargetBytes.toString('utf8');
        entry.size = len;
        if (type === InodeType.LSYMLINK) xattr = c.take(4).readUInt32LE(0);
        break;
      }
      case InodeType.BLKDEV:
      case InodeType.CHRDEV:
      case InodeType.LBLKDEV:
      case InodeType.LCHRDEV: {
        const ext = type > 7;
        const b = c.take(ext ? 12 : 8);
        entry.nlink = b.readUInt32LE(0);
        const { major, minor } = decodeDevice(b.readUInt32LE(4));
        entry.devMajor = major;
        entry.devMinor = minor;
        if (ext) xattr = b.readUInt32LE(8);
        break;
      }
      default: {
        const ext = type > 7;
        const b = c.take(ext ? 8 : 4);
        entry.nlink = b.readUInt32LE(0);
        if (ext) xattr = b.readUInt32LE(4);
      }
    }
    if (xattr !== NO_XATTR) entry.xattrs = this.readXattrs(xattr);
    return inode;
  }

  private readXattrs(index: number): Record<string, Buffer> {
    const sb = this.superblock;
    if (sb.xattrIdTableStart === ABSENT_TABLE)
      throw corrupt('inode has xattrs but the image has no xattr table', this.path);
    if (!this.xattrHeader) {
      const h = this.file.read(sb.xattrIdTableStart, 16, 'xattr table header');
      const count = h.readUInt32LE(8);
      const blocks = Math.ceil((count * 16) / METADATA_SIZE);
      const list = this.file.read(sb.xattrIdTableStart + 16, blocks * 8, 'xattr id locations');
      const locations: number[] = [];
      for (let i = 0; i < blocks; i++) locations.push(Number(list.readBigUInt64LE(i * 8)));
      this.xattrHeader = { kvStart: Number(h.readBigUInt64LE(0)), count, locations };
    }
    const xh = this.xattrHeader;
    if (index >= xh.count) throw corrupt(`xattr index ${index} out of range (${xh.count})`, this.path);
    const loc = xh.locations[Math.floor((index * 16) / METADATA_SIZE)]!;
    const e = this.meta.read(loc, (index * 16) % METADATA_SIZE, 16).data;
    const ref = Number(e.readBigUInt64LE(0));
    const count = e.readUInt32LE(8);
    const c = new MetadataCursor(this.meta, xh.kvStart + Math.floor(ref / 0x10000), ref % 0x10000);
    const out: Record<string, Buffer> = {};
    for (let i = 0; i < count; i++) {
      const k = c.take(4);
      const type = k.readUInt16LE(0);
      const name = c.take(k.readUInt16LE(2)).toString('utf8');
      const vsize = c.take(4).readUInt32LE(0);
      let value = c.take(vsize);
      if (type & XATTR_VALUE_OOL) {
        const vref = Number(value.readBigUInt64LE(0));
        const vc = new MetadataCursor(this.meta, xh.kvStart + Math.floor(vref / 0x10000), vref % 0x10000);
        value = vc.take(vc.take(4).readUInt32LE(0));
      }
      const key = joinXattrKey(type, name);
      if (key !== undefined) out[key] = value;
    }
    return out;
  }

  /** Parse a directory listing into (name, inode reference) pairs. */
  private listing(dir: DirInfo): { name: string; ref: number }[] {
    const size = dir.size - 3;
    if (size <= 0) return [];
    if (size > MAX_LISTING) throw corrupt(`directory listing of ${size} bytes is implausible`, this.path);
    const pos = this.superblock.directoryTableStart + dir.start;
    if (dir.offset >= METADATA_SIZE) throw corrupt('directory offset beyond a metadata block', this.path);
    const data = this.meta.read(pos, dir.offset, size).data;
    const out: { name: string; ref: number }[] = [];
    let p = 0;
    while (p + 12 <= size) {
      const count = data.readUInt32LE(p) + 1;
      const start = data.readUInt32LE(p + 4);
      p += 12;
      if (count > 256) throw corrupt(`directory header claims ${count} entries (max 256)`, this.path);
      for (let i = 0; i < count; i++) {
        if (p + 8 > size) throw corrupt('directory listing is cut short', this.path);
        const offset = data.readUInt16LE(p);
        const nameLen = data.readUInt16LE(p + 6) + 1;
        if (nameLen > 256 || p + 8 + nameLen > size)
          throw corrupt('directory entry name is out of range', this.path);
        // A binary string (a char a byte): names are bytes, not necessarily UTF-8.
        const name = data.toString('latin1', p + 8, p + 8 + nameLen);
        if (name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
          throw corrupt(`directory entry has an invalid name "${readablePath(name)}"`, this.path);
        }
        out.push({ name, ref: start * 0x10000 + offset });
        p += 8 + nameLen;
      }
    }
    return out;
  }

  /**
   * Walk the whole tree depth-first, names in stored (sorted) order, the root first.
   * A directory that appears twice (a loop or a shared subtree) is reported as a corrupt image.
   */
  *walk(): Generator<SquashfsEntry> {
    const seenDirs = new Set<number>();
    // Paths travel as binary strings until they are shown.
    const stack: { binary: string; ref: number }[] = [{ binary: '', ref: this.superblock.rootInodeRef }];
    while (stack.length > 0) {
      const { binary, ref } = stack.pop()!;
      const pathBytes = Buffer.from(binary, 'latin1');
      const path = pathBytes.toString('utf8');
      const inode = this.inode(ref);
      const entry: SquashfsEntry = { path, pathBytes, ...inode.entry };
      this.refs.set(path, ref);
      yield entry;
      if (inode.dir) {
        if (seenDirs.has(ref)) throw corrupt(`directory loop: "${path}" is reached twice`, this.path);
        seenDirs.add(ref);
        const children = this.listing(inode.dir);
        for (let i = children.length - 1; i >= 0; i--) {
          const child = children[i]!;
          stack.push({ binary: binary === '' ? child.name : `${binary}/${child.name}`, ref: child.ref });
        }
      }
    }
  }

  /** All entries, root first, in depth-first order. */
  list(): SquashfsEntry[] {
    const all = [...this.walk()];
    this.byPath = new Map(all.map((e) => [e.path, e]));
    return all;
  }

  /** Metadata of one path ('' or '/' is the root). */
  stat(path: string): SquashfsEntry {
    if (!this.byPath) this.list();
    const clean = path
      .split('/')
      .filter((p) => p !== '' && p !== '.')
      .join('/');
    const e = this.byPath!.get(clean);
    if (!e) throw new SquashfsError('NOT_FOUND', `no such entry in the image: "${clean}"`, this.path);
    return e;
  }

  /** Stream a regular file's content. */
  readFile(path: string): Readable {
    const entry = this.stat(path);
    if (entry.type !== 'file') {
      throw new SquashfsError(
        'NOT_FOUND',
        `"${entry.path}" is a ${entry.type}, not a regular file`,
        this.path,
      );
    }
    const inode = this.inode(this.refs.get(entry.path)!);
    return Readable.from(this.fileChunks(inode.file!, entry.size), { objectMode: false });
  }

  /** The file's content as a sequence of buffers (one per block), holes as zeros. */
  *fileChunks(file: FileInfo, size: number): Generator<Buffer> {
    const bs = this.superblock.blockSize;
    let pos = file.blocksStart;
    let left = size;
    for (const field of file.blockSizes) {
      const want = Math.min(bs, left);
      const onDisk = field & ~DATA_UNCOMPRESSED;
      if (onDisk === 0) {
        yield Buffer.alloc(want);
      } else {
        if (onDisk > bs) throw corrupt(`data block of ${onDisk} bytes exceeds the block size`, this.path);
        const raw = this.file.read(pos, onDisk, 'data block');
        const data = field & DATA_UNCOMPRESSED ? raw : this.compressor.decompress(raw, bs);
        if (data.length < want)
          throw corrupt(`data block at byte ${pos} inflates to too few bytes`, this.path);
        yield data.length === want ? data : data.subarray(0, want);
        pos += onDisk;
      }
      left -= want;
    }
    if (left > 0) {
      if (file.fragment === NO_FRAGMENT) throw corrupt('file is longer than its blocks', this.path);
      const block = this.fragmentBlock(file.fragment);
      if (file.fragmentOffset + left > block.length)
        throw corrupt('file tail lies outside its fragment', this.path);
      yield block.subarray(file.fragmentOffset, file.fragmentOffset + left);
    }
  }

  private lastFragment: { index: number; data: Buffer } | undefined;

  private fragmentBlock(index: number): Buffer {
    if (this.lastFragment?.index === index) return this.lastFragment.data;
    const sb = this.superblock;
    if (index >= sb.fragmentCount)
      throw corrupt(`fragment index ${index} out of range (${sb.fragmentCount})`, this.path);
    if (!this.fragmentTable)
      this.fragmentTable = this.lookupTable(sb.fragmentTableStart, sb.fragmentCount, 16, 'fragment table');
    const start = Number(this.fragmentTable.readBigUInt64LE(index * 16));
    const field = this.fragmentTable.readUInt32LE(index * 16 + 8);
    const onDisk = field & ~DATA_UNCOMPRESSED;
    if (onDisk > sb.blockSize)
      throw corrupt(`fragment block of ${onDisk} bytes exceeds the block size`, this.path);
    const raw = this.file.read(start, onDisk, 'fragment block');
    const data = field & DATA_UNCOMPRESSED ? raw : this.compressor.decompress(raw, sb.blockSize);
    this.lastFragment = { index, data };
    return data;
  }

  /** Internal: the content of the entry at `path` (used by squashfsToTar). */
  *contentOf(entry: SquashfsEntry): Generator<Buffer> {
    const ref = this.refs.get(entry.path);
    if (ref === undefined) throw new SquashfsError('NOT_FOUND', `no such entry "${entry.path}"`, this.path);
    yield* this.fileChunks(this.inode(ref).file!, entry.size);
  }
}

/** Open a squashfs image for reading. Throws SquashfsError (BAD_MAGIC, CORRUPT_IMAGE, …) on bad input. */
export async function openSquashfs(path: string): Promise<SquashfsReader> {
  return new SquashfsReader(path);
}
