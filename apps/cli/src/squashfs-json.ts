import { once } from 'node:events';
import type { SquashfsEntry } from '@concil/squashfs';

/** One entry of `concil squashfs ls --json`: the fields `unsquashfs -lln` shows, as values. */
export function entryRecord(entry: SquashfsEntry): Record<string, unknown> {
  return {
    path: `/${entry.path}`,
    type: entry.type,
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    size: entry.size,
    mtime: entry.mtime,
    nlink: entry.nlink,
    ...(entry.linkTarget !== undefined && { linkTarget: entry.linkTarget }),
    ...(entry.devMajor !== undefined && { devMajor: entry.devMajor, devMinor: entry.devMinor }),
    ...(Object.keys(entry.xattrs).length > 0 && {
      xattrs: Object.fromEntries(
        Object.entries(entry.xattrs).map(([key, value]) => [key, value.toString('base64')]),
      ),
    }),
  };
}

/** A JSON array written entry by entry: an image of a million files is never held as one string. */
export async function writeJsonArray<T>(items: Iterable<T>, record: (item: T) => unknown): Promise<void> {
  let first = true;
  for (const item of items) {
    const text = `${first ? '[\n' : ',\n'}  ${JSON.stringify(record(item))}`;
    first = false;
    if (!process.stdout.write(text)) await once(process.stdout, 'drain');
  }
  process.stdout.write(first ? '[]\n' : '\n]\n');
}
