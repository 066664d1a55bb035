import type { Compressor } from './compressor.js';
import { type DirectoryListing, sortedEntries, writeDirectory } from './directory.js';
import type { FileLayout } from './file-layout.js';
import { NO_XATTR } from './format.js';
import { IdTable } from './id-table.js';
import { EXTENDED_DIRECTORY_SIZE, encodeInode, listingStartOffset } from './inode.js';
import { LinkedTable, LinkedTablesCompression } from './linked-tables.js';
import type { Node } from './tree.js';
import { XattrTable } from './xattr.js';

const U32_MAX = 0xffffffff;

/** What the tables need of the data writer while it writes the last blocks (see DataWriter). */
export interface DataProgress {
  /** undefined once the file's layout is final, else a promise of that. */
  settled(layout: FileLayout): Promise<void> | undefined;
  /** How far the data may run at most: no file still to settle starts past it. */
  furthestEnd(): number;
}

export interface Tables {
  inodes: Buffer;
  directories: Buffer;
  exportEntries: Buffer;
  ids: IdTable;
  xattrs: XattrTable;
  rootRef: number;
  inodeCount: number;
}

/** Inode numbers given, and every directory's entries in the order they are listed. */
export interface Numbered {
  inodeCount: number;
  listings: Map<Node, [string, Node][]>;
}

/**
 * Number the inodes children-first (a directory's listing needs its children's inode references, so
 * children are written before their directory), sorting each directory once for both passes.
 */
export function numberInodes(root: Node): Numbered {
  const listings = new Map<Node, [string, Node][]>();
  let next = 1;
  const numberTree = (dir: Node): void => {
    const entries = sortedEntries(dir);
    listings.set(dir, entries);
    for (let i = 0; i < entries.length; i++) {
      const child = entries[i]![1];
      if (child.kind === 'directory') numberTree(child);
    }
    for (let i = 0; i < entries.length; i++) {
      const child = entries[i]![1];
      if (child.kind !== 'directory' && child.number === undefined) child.number = next++;
    }
    dir.number = next++;
  };
  numberTree(root);
  return { inodeCount: next - 1, listings };
}

/** Inodes written between two looks at the compression workers' answers. */
const INODES_PER_TURN = 512;

/**
 * Write the inode and directory tables, in the order numberInodes numbered them. Their blocks are
 * compressed on the workers as they fill (see LinkedTable): every few hundred inodes the loop lets the
 * workers' answers in, so blocks waiting for a start go out while the rest is written.
 */
export async function writeTables(
  root: Node,
  { inodeCount, listings }: Numbered,
  compressor: Compressor,
  stats: { files: number; directories: number },
  data: DataProgress,
): Promise<Tables> {
  const inodeTable = new LinkedTable();
  const dirTable = new LinkedTable();
  const compression = new LinkedTablesCompression(compressor, [inodeTable, dirTable]);
  const ids = new IdTable();
  const xattrs = new XattrTable();
  const written: Node[] = [];

  const contextOf = (node: Node, listing?: DirectoryListing, parent?: number, subdirs?: number) => ({
    number: node.number!,
    uidIndex: ids.indexOf(node.uid),
    gidIndex: ids.indexOf(node.gid),
    xattrIndex: node.xattrs.size > 0 ? xattrs.indexOf(node.xattrs) : NO_XATTR,
    dir: listing && {
      listingStart: listing.start, // the block's index: its start is filled in once known
      listingOffset: listing.offset,
      size: listing.size,
      parent: parent!,
      subdirs: subdirs!,
      index: listing.index,
      indexed: listing.indexed,
    },
  });
  const counted = (node: Node): void => {
    node.ref = inodeTable.ref;
    written.push(node);
    if (node.kind === 'directory') stats.directories++;
    else if (node.kind === 'file') stats.files++;
  };

  const writeInode = (node: Node, listing?: DirectoryListing, parent?: number, subdirs?: number): void => {
    counted(node);
    const at = inodeTable.uncompressedPosition;
    const inode = encodeInode(node, contextOf(node, listing, parent, subdirs));
    if (listing) {
      inodeTable.pointAt(at + listingStartOffset(inode), dirTable, listing.start);
      let entry = at + EXTENDED_DIRECTORY_SIZE;
      listing.index.forEach((ix, i) => {
        inodeTable.pointAt(entry + 4, dirTable, listing.indexBlocks[i]!);
        entry += ix.length;
      });
    }
    inodeTable.write(inode);
  };

  /**
   * A file whose last blocks are still being written: its inode in its place now, as it will be but for
   * where its data lies, which is filled in once known. Its inode is the same size either way where no
   * block can start past 4 GiB, where a file would take the extended inode; there, it is waited for.
   */
  const fills: Promise<void>[] = [];
  const writeFileInode = (node: Node, layout: FileLayout): Promise<void> | undefined => {
    const settled = data.settled(layout);
    if (!settled) {
      writeInode(node);
      return undefined;
    }
    if (data.furthestEnd() > U32_MAX) return settled.then(() => writeInode(node));
    counted(node);
    const ctx = contextOf(node);
    const at = inodeTable.writeLater(encodeInode(node, ctx));
    fills.push(
      settled.then(() => {
        inodeTable.fill(at, encodeInode(node, ctx));
        compression.pump();
      }),
    );
    return undefined;
  };

  // Loops below go by index, and wait only where they must: tens of thousands of inodes, and each
  // await or iterator allocates, which the collector then made a third of the tables' time.
  let sinceTurn = 0;
  const turn = (): Promise<void> | undefined => {
    if (sinceTurn < INODES_PER_TURN) return undefined;
    sinceTurn = 0;
    compression.pump();
    return new Promise((resolve) => setImmediate(resolve));
  };

  // First every inode but the directories', in the order they are numbered. They point at nothing in
  // the tables, so their blocks go to the workers as soon as they fill, all in parallel.
  const writeLeaves = async (dir: Node): Promise<void> => {
    const entries = listings.get(dir)!;
    for (let i = 0; i < entries.length; i++) {
      const child = entries[i]![1];
      if (child.kind === 'directory') await writeLeaves(child);
    }
    for (let i = 0; i < entries.length; i++) {
      const child = entries[i]![1];
      if (child.kind === 'directory' || child.ref !== undefined) continue;
      if (!child.layout) writeInode(child);
      else {
        const wait = writeFileInode(child, child.layout);
        if (wait) await wait;
      }
      sinceTurn++;
    }
    const wait = turn();
    if (wait) await wait;
  };
  // Then each directory's listing and inode, children first. Only here do the tables point into each
  // other, and a block waits for the blocks before the ones it points at: written in the order above,
  // each inode block waited for the directory block before, and that for the inode block before, so
  // the two tables compressed one block at a time. Now the inode blocks that wait are few.
  const writeDirectories = async (dir: Node, parentNumber: number): Promise<void> => {
    const entries = listings.get(dir)!;
    let subdirs = 0;
    for (let i = 0; i < entries.length; i++) {
      const child = entries[i]![1];
      if (child.kind !== 'directory') continue;
      subdirs++;
      await writeDirectories(child, dir.number!);
    }
    const listing = writeDirectory(dirTable, inodeTable, entries);
    writeInode(dir, listing, parentNumber, subdirs);
    sinceTurn += entries.length;
    const wait = turn();
    if (wait) await wait;
  };
  await writeLeaves(root);
  // The root's parent is, by convention, one past the last inode number.
  await writeDirectories(root, inodeCount + 1);
  await Promise.all(fills);
  await compression.finish();

  // References as the image stores them, now that every block's start is known.
  const exportEntries = Buffer.alloc(inodeCount * 8);
  for (let i = 0; i < written.length; i++) {
    const node = written[i]!;
    exportEntries.writeUIntLE(inodeTable.resolve(node.ref!), (node.number! - 1) * 8, 6); // refs have 48 bits
  }
  return {
    inodes: inodeTable.bytes(),
    directories: dirTable.bytes(),
    exportEntries,
    ids,
    xattrs,
    rootRef: inodeTable.resolve(root.ref!),
    inodeCount,
  };
}
