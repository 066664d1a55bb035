import type { Codec } from './compressor.js';
import { NO_XATTR } from './format.js';
import { buildLookupTable, MetadataWriter } from './metadata-writer.js';

/** Squashfs stores the namespace of a key as a number; other namespaces cannot be stored. */
const PREFIXES = ['user.', 'trusted.', 'security.'] as const;
export const XATTR_VALUE_OOL = 0x0100;

export function splitXattrKey(key: string): { type: number; name: string } | undefined {
  const type = PREFIXES.findIndex((p) => key.startsWith(p));
  if (type === -1) return undefined;
  return { type, name: key.slice(PREFIXES[type]!.length) };
}

export function joinXattrKey(type: number, name: string): string | undefined {
  const prefix = PREFIXES[type & 0xff];
  return prefix === undefined ? undefined : prefix + name;
}

/** Collects the distinct xattr sets of the image; identical sets share one entry. */
export class XattrTable {
  private readonly index = new Map<string, number>();
  private readonly sets: [string, Buffer][][] = [];
  /** Keys dropped because squashfs has no namespace for them (e.g. system.*). */
  readonly skipped = new Set<string>();

  indexOf(xattrs: ReadonlyMap<string, Buffer>): number {
    const pairs = [...xattrs].filter(([k]) => {
      if (splitXattrKey(k)) return true;
      this.skipped.add(k);
      return false;
    });
    if (pairs.length === 0) return NO_XATTR;
    pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const key = pairs.map(([k, v]) => `${k}\0${v.toString('base64')}`).join('\0');
    let i = this.index.get(key);
    if (i === undefined) {
      i = this.sets.length;
      this.sets.push(pairs);
      this.index.set(key, i);
    }
    return i;
  }

  get size(): number {
    return this.sets.length;
  }

  /** Serialise the key/value blocks and the id table, to be placed at absolute position `at`. */
  build(at: number, compressor: Codec): { bytes: Buffer; tableOffset: number } {
    const kv = new MetadataWriter(compressor);
    const ids = Buffer.alloc(this.sets.length * 16);
    this.sets.forEach((pairs, i) => {
      const ref = kv.ref;
      let size = 0;
      for (const [k, v] of pairs) {
        const { type, name } = splitXattrKey(k)!;
        const nameBytes = Buffer.from(name);
        const entry = Buffer.alloc(4 + nameBytes.length + 4);
        entry.writeUInt16LE(type, 0);
        entry.writeUInt16LE(nameBytes.length, 2);
        nameBytes.copy(entry, 4);
        entry.writeUInt32LE(v.length, 4 + nameBytes.length);
        kv.write(entry);
        kv.write(v);
        size += entry.length + v.length;
      }
      ids.writeBigUInt64LE(BigInt(ref), i * 16);
      ids.writeUInt32LE(pairs.length, i * 16 + 8);
      ids.writeUInt32LE(size, i * 16 + 12);
    });
    const kvBytes = kv.finish();
    const idStart = at + kvBytes.length;
    const table = buildLookupTable(ids, idStart, compressor);
    // The superblock points at a header: where the key/values start and how many ids there are.
    const header = Buffer.alloc(16);
    header.writeBigUInt64LE(BigInt(at), 0);
    header.writeUInt32LE(this.sets.length, 8);
    const listBytes = table.bytes.subarray(table.listOffset);
    const bytes = Buffer.concat([kvBytes, table.bytes.subarray(0, table.listOffset), header, listBytes]);
    return { bytes, tableOffset: kvBytes.length + table.listOffset };
  }
}
