import { createReadStream, type Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import { addTarEntry, tarEntryName } from './tar-entry.js';

/**
 * A directory as an uncompressed tar stream, walked in a stable order (names sorted by their
 * bytes), each entry with its mode, uid, gid and mtime; symlinks are kept as symlinks, and a
 * file seen again under another name (same inode) becomes a hard link to the first name.
 * Devices and fifos are kept; sockets cannot be held by a tar and are left out. Extended
 * attributes are not read: Node has no API for them without a native module. The root
 * directory itself has no entry.
 */
export function directoryToTar(root: string): Readable {
  const pack = tarStream.pack();
  walk(pack, root).then(
    () => pack.finalize(),
    (error: unknown) => pack.destroy(error as Error),
  );
  return pack as unknown as Readable;
}

async function walk(pack: tarStream.Pack, root: string): Promise<void> {
  const firstNames = new Map<string, string>();
  const visit = async (dir: string, prefix: string): Promise<void> => {
    const names = (await readdir(dir)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const name of names) {
      const path = prefix ? `${prefix}/${name}` : name;
      const full = join(dir, name);
      const info = await lstat(full);
      const header = {
        name: path,
        mode: info.mode & 0o7777,
        uid: info.uid,
        gid: info.gid,
        mtime: info.mtime,
      };
      if (info.isDirectory()) {
        await addTarEntry(pack, { ...header, name: tarEntryName(path, 'directory'), type: 'directory' });
        await visit(full, path);
      } else if (info.isSymbolicLink()) {
        await addTarEntry(pack, { ...header, type: 'symlink', linkname: await readlink(full) });
      } else if (info.isFile()) {
        const inode = `${info.dev}:${info.ino}`;
        const first = info.nlink > 1 ? firstNames.get(inode) : undefined;
        if (first !== undefined) {
          await addTarEntry(pack, { ...header, type: 'link', linkname: first });
          continue;
        }
        if (info.nlink > 1) firstNames.set(inode, path);
        const entry = pack.entry({ ...header, type: 'file', size: info.size });
        await pipeline(createReadStream(full, { highWaterMark: 1 << 20 }), entry);
      } else if (!info.isSocket()) {
        await addTarEntry(pack, { ...header, ...special(info) });
      }
    }
  };
  await visit(root, '');
}

/** A device's or fifo's type and numbers, as Linux splits `rdev`. */
function special(info: Stats): Pick<tarStream.Header, 'type' | 'devmajor' | 'devminor'> {
  const rdev = BigInt(info.rdev);
  return {
    type: info.isFIFO() ? 'fifo' : info.isCharacterDevice() ? 'character-device' : 'block-device',
    devmajor: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    devminor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
  };
}
