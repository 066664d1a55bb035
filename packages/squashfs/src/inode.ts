import { encodeDevice, InodeType, NO_FRAGMENT, NO_XATTR } from './format.js';
import type { Node } from './tree.js';

/** The inode fields that depend on other tables, resolved by the writer. */
export interface InodeContext {
  number: number;
  uidIndex: number;
  gidIndex: number;
  xattrIndex: number;
  /** Directories only. */
  dir?: {
    listingStart: number;
    listingOffset: number;
    /** Listing bytes + 3, as squashfs counts the implied "." and "..". */
    size: number;
    parent: number;
    subdirs: number;
    index: Buffer[];
    indexed: boolean;
  };
}

const U32_MAX = 0xffffffff;

/** Bytes of an extended directory inode before its index entries. */
export const EXTENDED_DIRECTORY_SIZE = 40;

/** Where an encoded directory inode holds the start of its listing's block. */
export function listingStartOffset(inode: Buffer): number {
  return inode.readUInt16LE(0) === InodeType.DIR ? 16 : 24;
}

// Encoders fill every byte they allocate, so they use allocUnsafe: small pooled buffers, no zeroing.
function header(type: number, node: Node, ctx: InodeContext, extra: number): Buffer {
  const b = Buffer.allocUnsafe(16 + extra);
  b.writeUInt16LE(type, 0);
  b.writeUInt16LE(node.mode & 0o7777, 2);
  b.writeUInt16LE(ctx.uidIndex, 4);
  b.writeUInt16LE(ctx.gidIndex, 6);
  b.writeUInt32LE(clampTime(node.mtime), 8);
  b.writeUInt32LE(ctx.number, 12);
  return b;
}

/** Squashfs stores unsigned 32-bit times; out-of-range tar times are clamped rather than wrapped. */
function clampTime(t: number): number {
  return Math.min(U32_MAX, Math.max(0, Math.floor(t)));
}

/** Encode a node as the smallest inode type that can hold it. */
export function encodeInode(node: Node, ctx: InodeContext): Buffer {
  const hasXattr = ctx.xattrIndex !== NO_XATTR;
  switch (node.kind) {
    case 'directory': {
      const d = ctx.dir!;
      if (!hasXattr && !d.indexed && d.size <= 0xffff && d.listingStart <= U32_MAX) {
        const b = header(InodeType.DIR, node, ctx, 16);
        b.writeUInt32LE(d.listingStart, 16);
        b.writeUInt32LE(2 + d.subdirs, 20);
        b.writeUInt16LE(d.size, 24);
        b.writeUInt16LE(d.listingOffset, 26);
        b.writeUInt32LE(d.parent, 28);
        return b;
      }
      const b = header(InodeType.LDIR, node, ctx, 24);
      b.writeUInt32LE(2 + d.subdirs, 16);
      b.writeUInt32LE(d.size, 20);
      b.writeUInt32LE(d.listingStart, 24);
      b.writeUInt32LE(d.parent, 28);
      b.writeUInt16LE(d.index.length, 32);
      b.writeUInt16LE(d.listingOffset, 34);
      b.writeUInt32LE(ctx.xattrIndex, 36);
      return Buffer.concat([b, ...d.index]);
    }
    case 'file': {
      const l = node.layout!;
      const basic =
        !hasXattr && node.links === 1 && l.sparseBytes === 0 && l.size <= U32_MAX && l.blocksStart <= U32_MAX;
      // One buffer for the inode and its block list: most inodes are files, written by the ten thousand.
      const fixed = basic ? 16 : 40;
      const b = header(basic ? InodeType.FILE : InodeType.LFILE, node, ctx, fixed + l.blockSizes.length * 4);
      if (basic) {
        b.writeUInt32LE(l.blocksStart, 16);
        b.writeUInt32LE(l.fragment, 20);
        b.writeUInt32LE(l.fragment === NO_FRAGMENT ? 0 : l.fragmentOffset, 24);
        b.writeUInt32LE(l.size, 28);
      } else {
        b.writeBigUInt64LE(BigInt(l.blocksStart), 16);
        b.writeBigUInt64LE(BigInt(l.size), 24);
        b.writeBigUInt64LE(BigInt(l.sparseBytes), 32);
        b.writeUInt32LE(node.links, 40);
        b.writeUInt32LE(l.fragment, 44);
        b.writeUInt32LE(l.fragment === NO_FRAGMENT ? 0 : l.fragmentOffset, 48);
        b.writeUInt32LE(ctx.xattrIndex, 52);
      }
      let at = 16 + fixed;
      for (let i = 0; i < l.blockSizes.length; i++) {
        b.writeUInt32LE(l.blockSizes[i]!, at);
        at += 4;
      }
      return b;
    }
    case 'symlink': {
      const target = Buffer.from(node.target ?? '', 'latin1');
      const b = header(hasXattr ? InodeType.LSYMLINK : InodeType.SYMLINK, node, ctx, 8 + target.length);
      b.writeUInt32LE(node.links, 16);
      b.writeUInt32LE(target.length, 20);
      target.copy(b, 24);
      if (!hasXattr) return b;
      const x = Buffer.allocUnsafe(4);
      x.writeUInt32LE(ctx.xattrIndex, 0);
      return Buffer.concat([b, x]);
    }
    case 'char':
    case 'block': {
      const basic = node.kind === 'char' ? InodeType.CHRDEV : InodeType.BLKDEV;
      const b = header(hasXattr ? basic + 7 : basic, node, ctx, hasXattr ? 12 : 8);
      b.writeUInt32LE(node.links, 16);
      b.writeUInt32LE(encodeDevice(node.devmajor ?? 0, node.devminor ?? 0), 20);
      if (hasXattr) b.writeUInt32LE(ctx.xattrIndex, 24);
      return b;
    }
    case 'fifo':
    case 'socket': {
      const basic = node.kind === 'fifo' ? InodeType.FIFO : InodeType.SOCKET;
      const b = header(hasXattr ? basic + 7 : basic, node, ctx, hasXattr ? 8 : 4);
      b.writeUInt32LE(node.links, 16);
      if (hasXattr) b.writeUInt32LE(ctx.xattrIndex, 20);
      return b;
    }
  }
}

/** The basic type stored in directory entries (extended types are never used there). */
export function basicType(node: Node): number {
  switch (node.kind) {
    case 'directory':
      return InodeType.DIR;
    case 'file':
      return InodeType.FILE;
    case 'symlink':
      return InodeType.SYMLINK;
    case 'block':
      return InodeType.BLKDEV;
    case 'char':
      return InodeType.CHRDEV;
    case 'fifo':
      return InodeType.FIFO;
    case 'socket':
      return InodeType.SOCKET;
  }
}
