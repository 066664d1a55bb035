import { METADATA_SIZE } from './format.js';
import { basicType } from './inode.js';
import type { LinkedTable } from './linked-tables.js';
import type { Node } from './tree.js';

export interface DirectoryListing {
  /** Index of the directory table block the listing starts in. */
  start: number;
  offset: number;
  /** Listing size + 3 (squashfs counts "." and ".." that are not stored). */
  size: number;
  /** Encoded directory index entries, for the extended directory inode. */
  index: Buffer[];
  /** The directory table block each index entry points to (its start to be filled in). */
  indexBlocks: number[];
  /** Large directories get an extended inode with an index. */
  indexed: boolean;
}

/**
 * Listings longer than this do not fit the basic directory inode's 16-bit size and get an extended inode
 * with an index. Smaller directories are not indexed, exactly like tar2sqfs 1.2 decides, so the inode
 * types of both writers agree (sqfsdiff compares them).
 */
const BASIC_DIR_MAX_LISTING = 0xffff - 3;

const MAX_ENTRIES_PER_HEADER = 256;
const HEADER_SIZE = 12;

/** Byte order of names, as the kernel compares them (names are binary strings: one char per byte). */
export function sortedEntries(dir: Node): [string, Node][] {
  const entries: [string, Node][] = [];
  let sorted = true;
  dir.children!.forEach((node, name) => {
    if (sorted && entries.length > 0 && entries[entries.length - 1]![0] > name) sorted = false;
    entries.push([name, node]);
  });
  // Tars are mostly written in name order: then there is nothing to sort.
  return sorted ? entries : entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** Estimate of the listing size, to decide on indexing before writing (extra run headers add little). */
function plannedSize(entries: [string, Node][]): number {
  let size = 0;
  for (let i = 0; i < entries.length; i++) size += 8 + entries[i]![0].length;
  // At most one header per run; runs hold up to 256 entries or end at block boundaries.
  return size + HEADER_SIZE * Math.ceil(entries.length / MAX_ENTRIES_PER_HEADER);
}

/**
 * Write one directory's listing: runs of entries under headers that share an inode block and a base
 * inode number. A new run also starts at every metadata block boundary, and those runs are indexed so
 * lookups in large directories can jump close to the name.
 */
export function writeDirectory(
  writer: LinkedTable,
  inodes: LinkedTable,
  entries: [string, Node][],
): DirectoryListing {
  const start = writer.blockIndex;
  const offset = writer.offset;
  const listingStart = writer.uncompressedPosition;
  const index: Buffer[] = [];
  const indexBlocks: number[] = [];
  const indexed = plannedSize(entries) > BASIC_DIR_MAX_LISTING;

  let i = 0;
  while (i < entries.length) {
    const first = entries[i]![1];
    const inodeBlock = Math.floor(first.ref! / 0x10000);
    const base = first.number!;
    const headerPos = writer.uncompressedPosition;
    const headerBlock = Math.floor(headerPos / METADATA_SIZE);
    // Plan the run: stop where the block, the base number range or the block boundary says so.
    const run: Buffer[] = [];
    let pos = headerPos + HEADER_SIZE;
    while (i < entries.length && run.length < MAX_ENTRIES_PER_HEADER) {
      const name = entries[i]![0];
      const node = entries[i]![1];
      const diff = node.number! - base;
      if (Math.floor(node.ref! / 0x10000) !== inodeBlock || diff < -32768 || diff > 32767) break;
      if (run.length > 0 && Math.floor(pos / METADATA_SIZE) !== headerBlock) break;
      // Names are binary strings: a char per byte.
      const e = Buffer.allocUnsafe(8 + name.length);
      e.writeUInt16LE(node.ref! % 0x10000, 0);
      e.writeInt16LE(diff, 2);
      e.writeUInt16LE(basicType(node), 4);
      e.writeUInt16LE(name.length - 1, 6);
      e.write(name, 8, 'latin1');
      run.push(e);
      pos += e.length;
      i++;
    }
    if (indexed && headerPos !== listingStart && headerBlock !== Math.floor(listingStart / METADATA_SIZE)) {
      const firstName = Buffer.from(entries[i - run.length]![0], 'latin1');
      const ix = Buffer.allocUnsafe(12 + firstName.length);
      ix.writeUInt32LE(headerPos - listingStart, 0);
      ix.writeUInt32LE(writer.blockIndex, 4); // the block's start, filled in by the writer
      indexBlocks.push(writer.blockIndex);
      ix.writeUInt32LE(firstName.length - 1, 8);
      firstName.copy(ix, 12);
      index.push(ix);
    }
    const h = Buffer.allocUnsafe(HEADER_SIZE);
    h.writeUInt32LE(run.length - 1, 0);
    h.writeUInt32LE(inodeBlock, 4);
    h.writeUInt32LE(base, 8);
    writer.pointAt(headerPos + 4, inodes, inodeBlock);
    writer.write(h);
    for (let r = 0; r < run.length; r++) writer.write(run[r]!);
  }
  return { start, offset, size: writer.uncompressedPosition - listingStart + 3, index, indexBlocks, indexed };
}
