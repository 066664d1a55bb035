import { Readable } from 'node:stream';
import { openSquashfs, type SquashfsReader } from './reader.js';
import { END_OF_ARCHIVE, encodeTarHeader, tarPadding } from './tar-output.js';

/**
 * Stream a whole squashfs image as an uncompressed tar: the root as "./", hard links as tar hard links,
 * xattrs as PAX SCHILY.xattr records. Sockets cannot be stored in tar and are left out.
 */
export function squashfsToTar(pathOrReader: string | SquashfsReader): Readable {
  return Readable.from(tarChunks(pathOrReader), { objectMode: false });
}

const SLASH = Buffer.from('/');

async function* tarChunks(pathOrReader: string | SquashfsReader): AsyncGenerator<Buffer> {
  const reader = typeof pathOrReader === 'string' ? await openSquashfs(pathOrReader) : pathOrReader;
  try {
    const firstPath = new Map<number, Buffer>();
    for (const e of reader.walk()) {
      if (e.type === 'socket') continue;
      // The stored bytes, not the UTF-8 reading of them: names that are not UTF-8 come back unchanged.
      const name =
        e.path === '' ? './' : e.type === 'directory' ? Buffer.concat([e.pathBytes, SLASH]) : e.pathBytes;
      const common = { name, mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, xattrs: e.xattrs };
      if (e.type !== 'directory' && e.nlink > 1) {
        const first = firstPath.get(e.inodeNumber);
        if (first !== undefined) {
          yield encodeTarHeader({ ...common, type: 'hardlink', size: 0, linkname: first, xattrs: {} });
          continue;
        }
        firstPath.set(e.inodeNumber, e.pathBytes);
      }
      switch (e.type) {
        case 'file': {
          yield encodeTarHeader({ ...common, type: 'file', size: e.size });
          yield* reader.contentOf(e);
          yield tarPadding(e.size);
          break;
        }
        case 'symlink':
          yield encodeTarHeader({ ...common, type: 'symlink', size: 0, linkname: e.linkTargetBytes ?? '' });
          break;
        case 'char':
        case 'block':
          yield encodeTarHeader({
            ...common,
            type: e.type,
            size: 0,
            devmajor: e.devMajor,
            devminor: e.devMinor,
          });
          break;
        default:
          yield encodeTarHeader({ ...common, type: e.type, size: 0 });
      }
    }
    yield END_OF_ARCHIVE;
  } finally {
    if (typeof pathOrReader === 'string') reader.close();
  }
}
