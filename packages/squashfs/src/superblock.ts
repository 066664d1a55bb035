import { corrupt, SquashfsError } from './errors.js';
import { SQUASHFS_MAGIC, SUPERBLOCK_SIZE } from './format.js';

export interface Superblock {
  inodeCount: number;
  modTime: number;
  blockSize: number;
  fragmentCount: number;
  compressionId: number;
  flags: number;
  idCount: number;
  rootInodeRef: number;
  bytesUsed: number;
  idTableStart: number;
  xattrIdTableStart: number;
  inodeTableStart: number;
  directoryTableStart: number;
  fragmentTableStart: number;
  exportTableStart: number;
}

/** 0xFFFF_FFFF_FFFF_FFFF marks an absent table; as a JS number it becomes -1. */
const ABSENT = -1;

export function encodeSuperblock(sb: Superblock): Buffer {
  const b = Buffer.alloc(SUPERBLOCK_SIZE);
  b.writeUInt32LE(SQUASHFS_MAGIC, 0);
  b.writeUInt32LE(sb.inodeCount, 4);
  b.writeUInt32LE(sb.modTime, 8);
  b.writeUInt32LE(sb.blockSize, 12);
  b.writeUInt32LE(sb.fragmentCount, 16);
  b.writeUInt16LE(sb.compressionId, 20);
  b.writeUInt16LE(Math.log2(sb.blockSize), 22);
  b.writeUInt16LE(sb.flags, 24);
  b.writeUInt16LE(sb.idCount, 26);
  b.writeUInt16LE(4, 28);
  b.writeUInt16LE(0, 30);
  const u64 = (v: number, at: number) => {
    b.writeBigUInt64LE(v === ABSENT ? 0xffffffffffffffffn : BigInt(v), at);
  };
  u64(sb.rootInodeRef, 32);
  u64(sb.bytesUsed, 40);
  u64(sb.idTableStart, 48);
  u64(sb.xattrIdTableStart, 56);
  u64(sb.inodeTableStart, 64);
  u64(sb.directoryTableStart, 72);
  u64(sb.fragmentTableStart, 80);
  u64(sb.exportTableStart, 88);
  return b;
}

export function decodeSuperblock(b: Buffer, path?: string): Superblock {
  if (b.length < SUPERBLOCK_SIZE) {
    throw new SquashfsError(
      'CORRUPT_IMAGE',
      'file is too short to be a squashfs image (no superblock)',
      path,
    );
  }
  if (b.readUInt32LE(0) !== SQUASHFS_MAGIC) {
    throw new SquashfsError('BAD_MAGIC', 'not a squashfs image: the magic number "hsqs" is missing', path);
  }
  const major = b.readUInt16LE(28);
  const minor = b.readUInt16LE(30);
  if (major !== 4 || minor !== 0) {
    throw new SquashfsError(
      'UNSUPPORTED_VERSION',
      `squashfs ${major}.${minor} is not supported (only 4.0)`,
      path,
    );
  }
  const u64 = (at: number): number => {
    const v = b.readBigUInt64LE(at);
    if (v === 0xffffffffffffffffn) return ABSENT;
    if (v > BigInt(Number.MAX_SAFE_INTEGER))
      throw corrupt(`superblock field at byte ${at} is out of range`, path);
    return Number(v);
  };
  const sb: Superblock = {
    inodeCount: b.readUInt32LE(4),
    modTime: b.readUInt32LE(8),
    blockSize: b.readUInt32LE(12),
    fragmentCount: b.readUInt32LE(16),
    compressionId: b.readUInt16LE(20),
    flags: b.readUInt16LE(24),
    idCount: b.readUInt16LE(26),
    rootInodeRef: u64(32),
    bytesUsed: u64(40),
    idTableStart: u64(48),
    xattrIdTableStart: u64(56),
    inodeTableStart: u64(64),
    directoryTableStart: u64(72),
    fragmentTableStart: u64(80),
    exportTableStart: u64(88),
  };
  const log = b.readUInt16LE(22);
  if (sb.blockSize < 4096 || sb.blockSize > 1 << 20 || 1 << log !== sb.blockSize) {
    throw corrupt(`block size ${sb.blockSize} is not a power of two between 4 KiB and 1 MiB`, path);
  }
  return sb;
}

export { ABSENT as ABSENT_TABLE };
