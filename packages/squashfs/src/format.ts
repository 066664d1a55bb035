/** On-disk constants of the squashfs 4.0 format (see squashfs-tools-ng doc/format.adoc). */
export const SQUASHFS_MAGIC = 0x73717368;
export const SUPERBLOCK_SIZE = 96;
export const METADATA_SIZE = 8192;
/** The block size of mksquashfs and tar2sqfs, and ours unless told otherwise. */
export const DEFAULT_BLOCK_SIZE = 128 * 1024;
/** Bit 15 of a metadata block header: the block is stored uncompressed. */
export const METADATA_UNCOMPRESSED = 0x8000;
/** Bit 24 of a data block size: the block is stored uncompressed. */
export const DATA_UNCOMPRESSED = 0x1000000;
export const NO_FRAGMENT = 0xffffffff;
export const NO_XATTR = 0xffffffff;
export const NO_TABLE = 0xffffffffffffffffn;
/** Images are padded to a multiple of this, like mksquashfs and tar2sqfs do. */
export const DEVICE_BLOCK_SIZE = 4096;

export const Flags = {
  UNCOMPRESSED_INODES: 0x0001,
  UNCOMPRESSED_DATA: 0x0002,
  UNCOMPRESSED_FRAGMENTS: 0x0008,
  NO_FRAGMENTS: 0x0010,
  ALWAYS_FRAGMENTS: 0x0020,
  DUPLICATES: 0x0040,
  EXPORTABLE: 0x0080,
  UNCOMPRESSED_XATTRS: 0x0100,
  NO_XATTRS: 0x0200,
  COMPRESSOR_OPTIONS: 0x0400,
  UNCOMPRESSED_IDS: 0x0800,
} as const;

export const InodeType = {
  DIR: 1,
  FILE: 2,
  SYMLINK: 3,
  BLKDEV: 4,
  CHRDEV: 5,
  FIFO: 6,
  SOCKET: 7,
  LDIR: 8,
  LFILE: 9,
  LSYMLINK: 10,
  LBLKDEV: 11,
  LCHRDEV: 12,
  LFIFO: 13,
  LSOCKET: 14,
} as const;

export const CompressorId = { gzip: 1, lzma: 2, lzo: 3, xz: 4, lz4: 5, zstd: 6 } as const;

/** Squashfs packs major/minor like the kernel's new_encode_dev. */
export function encodeDevice(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

export function decodeDevice(dev: number): { major: number; minor: number } {
  return { major: (dev >>> 8) & 0xfff, minor: (dev & 0xff) | ((dev >>> 12) & 0xfff00) };
}
