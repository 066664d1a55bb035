import { randomBytes } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { type CompressorName, createCompressor } from './compressor.js';
import { DataWriter, type FragmentEntry } from './data-writer.js';
import { fileSystemFailure, SquashfsError } from './errors.js';
import { DEFAULT_BLOCK_SIZE, DEVICE_BLOCK_SIZE, Flags, SUPERBLOCK_SIZE } from './format.js';
import { lookupBlocks, placedLookupTable } from './metadata-writer.js';
import { ABSENT_TABLE, encodeSuperblock } from './superblock.js';
import { numberInodes, writeTables } from './tables.js';
import { tarFileChunks } from './tar-file.js';
import { readTar } from './tar-input.js';
import { Tree } from './tree.js';

export interface CreateSquashfsOptions {
  /** Block compressor; default gzip (like mksquashfs). lz4 is pure JavaScript (slow). */
  compressor?: CompressorName;
  /** Compression level; default 9 for gzip, 15 for zstd, 6 for xz (the squashfs-tools defaults). */
  level?: number;
  /** Data block size, a power of two from 4 KiB to 1 MiB; default 128 KiB. */
  blockSize?: number;
  /** Turn OCI whiteouts into overlayfs whiteouts (0/0 char devices, trusted.overlay.opaque=y). */
  overlayWhiteouts?: boolean;
  /** Image creation time stored in the superblock; default 0 so images are reproducible. */
  mtime?: number;
  /** Blocks compressed at once; default: the number of CPUs. */
  concurrency?: number;
}

export interface SquashfsStats {
  /** Size of the image file in bytes (padded to 4 KiB). */
  bytes: number;
  inodes: number;
  files: number;
  directories: number;
  /** Uncompressed bytes of file content read from the tar. */
  dataBytes: number;
  /** Files whose content was stored once already and is shared. */
  duplicateFiles: number;
  fragments: number;
  blockSize: number;
  compressor: CompressorName;
  /** Xattr keys that squashfs cannot store (namespaces other than user, trusted, security). */
  skippedXattrs: string[];
}

function checkBlockSize(size: number): void {
  if (!Number.isInteger(size) || size < 4096 || size > 1 << 20 || (size & (size - 1)) !== 0) {
    throw new SquashfsError(
      'BAD_OPTION',
      `block size must be a power of two from 4096 to 1048576, got ${size}`,
    );
  }
}

/**
 * Convert a tar into a squashfs 4.0 image at `outputPath`, reading the tar once: an uncompressed tar
 * stream, or the path of a tar file (plain, gzip or zstd, recognised by content).
 * The image is built in a temporary file beside the target and renamed into place only on success.
 */
export async function createSquashfs(
  tarStream: Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array> | string,
  outputPath: string,
  options: CreateSquashfsOptions = {},
): Promise<SquashfsStats> {
  const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
  checkBlockSize(blockSize);
  const concurrency = Math.max(1, options.concurrency ?? availableParallelism());
  const compressor = createCompressor(options.compressor ?? 'gzip', options.level, blockSize, concurrency);

  const tmpPath = join(dirname(outputPath), `.${basename(outputPath)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmpPath, 'wx+');
  } catch (err) {
    compressor.close();
    throw (
      fileSystemFailure(err, 'cannot create the image next to its final name', outputPath, 'WRITE_FAILED') ??
      err
    );
  }
  let data: DataWriter | undefined;
  try {
    const compOptions = compressor.options();
    let start = SUPERBLOCK_SIZE;
    if (compOptions) {
      // Compressor options live in one uncompressed metadata block right after the superblock.
      const block = Buffer.alloc(2 + compOptions.length);
      block.writeUInt16LE(compOptions.length | 0x8000, 0);
      compOptions.copy(block, 2);
      writeSync(fd, block, 0, block.length, start);
      start += block.length;
    }
    data = new DataWriter(fd, compressor, blockSize, concurrency, start);

    const tree = new Tree(options.overlayWhiteouts ?? false);
    const source = typeof tarStream === 'string' ? tarFileChunks(tarStream) : tarStream;
    for await (const entry of readTar(source)) {
      const node = tree.add(entry);
      if (node) node.layout = await data.writeFile(entry.buffered() ?? entry.body(), entry.size);
      else if (entry.type === 'file') for await (const _ of entry.body()); // whiteout files: drop content
    }
    // The last blocks compress while the tree is finished and its inodes numbered (which does not
    // depend on them).
    const dataDone = data.finish();
    dataDone.catch(() => {}); // awaited below, or given up by abort() if the tree turns out bad
    tree.finish();
    const numbered = numberInodes(tree.root);
    // And the tables are written meanwhile, each file's inode as soon as its blocks are.
    const stats = { files: 0, directories: 0 };
    const tables = await writeTables(tree.root, numbered, compressor, stats, data);
    let position = await dataDone;
    const fragmentBlocks = lookupBlocks(fragmentEntries(data.fragments), compressor);
    const sb = {
      inodeCount: tables.inodeCount,
      modTime: options.mtime ?? 0,
      blockSize,
      fragmentCount: data.fragments.length,
      compressionId: compressor.id,
      flags: Flags.DUPLICATES | Flags.EXPORTABLE | (compOptions ? Flags.COMPRESSOR_OPTIONS : 0),
      idCount: tables.ids.ids.length,
      rootInodeRef: tables.rootRef,
      bytesUsed: 0,
      idTableStart: 0,
      xattrIdTableStart: ABSENT_TABLE,
      inodeTableStart: 0,
      directoryTableStart: 0,
      fragmentTableStart: 0,
      exportTableStart: 0,
    };
    const put = (bytes: Buffer): number => {
      const at = position;
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, at + done);
      position += bytes.length;
      return at;
    };
    sb.inodeTableStart = put(tables.inodes);
    sb.directoryTableStart = put(tables.directories);

    const [fragments, exports, ids] = await Promise.all([
      fragmentBlocks,
      lookupBlocks(tables.exportEntries, compressor),
      lookupBlocks(tables.ids.entries(), compressor),
    ]);
    const putLookupTable = (blocks: Buffer[]): number => {
      const table = placedLookupTable(blocks, position);
      return put(table.bytes) + table.listOffset;
    };
    sb.fragmentTableStart = putLookupTable(fragments);
    sb.exportTableStart = putLookupTable(exports);
    sb.idTableStart = putLookupTable(ids);

    if (tables.xattrs.size > 0) {
      const x = tables.xattrs.build(position, compressor);
      sb.xattrIdTableStart = put(x.bytes) + x.tableOffset;
    }
    // Only now: the tables above compress their metadata blocks with it too.
    compressor.close();
    sb.bytesUsed = position;
    const padding = (DEVICE_BLOCK_SIZE - (position % DEVICE_BLOCK_SIZE)) % DEVICE_BLOCK_SIZE;
    if (padding > 0) put(Buffer.alloc(padding));
    // Data dropped for a duplicate may have been written past the end of what the image keeps.
    ftruncateSync(fd, position);
    writeSync(fd, encodeSuperblock(sb), 0, SUPERBLOCK_SIZE, 0);
    closeSync(fd);
    renameSync(tmpPath, outputPath);
    return {
      bytes: position,
      inodes: tables.inodeCount,
      files: stats.files,
      directories: stats.directories,
      dataBytes: data.bytesIn,
      duplicateFiles: data.duplicates,
      fragments: data.fragments.length,
      blockSize,
      compressor: compressor.name,
      skippedXattrs: [...tables.xattrs.skipped],
    };
  } catch (err) {
    await data?.abort();
    compressor.close();
    try {
      closeSync(fd);
    } catch {}
    try {
      unlinkSync(tmpPath);
    } catch {}
    throw (
      (isOutputFailure(err) &&
        fileSystemFailure(err, 'cannot write the image', outputPath, 'WRITE_FAILED')) ||
      err
    );
  }
}

/** The fragment table's entries: where each fragment block is stored, and its size field. */
function fragmentEntries(fragments: readonly FragmentEntry[]): Buffer {
  const entries = Buffer.alloc(fragments.length * 16);
  fragments.forEach((f, i) => {
    entries.writeUIntLE(f.start, i * 16, 6); // a position in the image: 48 bits are plenty
    entries.writeUInt32LE(f.sizeField, i * 16 + 8);
  });
  return entries;
}

/** The system refused to write, size or rename the image (not to read the input). */
function isOutputFailure(err: unknown): boolean {
  return ['write', 'ftruncate', 'rename'].includes((err as NodeJS.ErrnoException).syscall ?? '');
}
