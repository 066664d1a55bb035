import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { directoryToTar } from './directory-tar.js';
import { ImageError } from './errors.js';

/** The kinds of path a new layer is made from. */
export type LayerSourceKind = 'directory' | 'tar' | 'squashfs';

/** What a path holds for a new layer: a directory, a tarball (tar, tar.gz, tar.zst) or a squashfs file. */
export async function layerSourceKind(path: string): Promise<LayerSourceKind> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new ImageError(
      'NOT_FOUND',
      `${path} cannot be read as a new layer (${error.code ?? error.message}): give a directory, a tarball or a squashfs file`,
      path,
      { cause: error },
    );
  });
  if (info.isDirectory()) return 'directory';
  if (!info.isFile()) {
    throw new ImageError(
      'UNSUPPORTED',
      `${path} is neither a directory nor a file: it cannot be a layer`,
      path,
    );
  }
  const head = Buffer.alloc(512);
  const file = await open(path);
  try {
    const { bytesRead } = await file.read(head, 0, 512, 0);
    if (head.subarray(0, 4).toString('latin1') === 'hsqs') return 'squashfs';
    if (isCompressed(head) || (bytesRead === 512 && head.subarray(257, 262).toString('latin1') === 'ustar')) {
      return 'tar';
    }
  } finally {
    await file.close();
  }
  throw new ImageError(
    'LAYER_INVALID',
    `${path} is not a tar, tar.gz, tar.zst or squashfs file (judged by its first bytes)`,
    path,
  );
}

const GZIP = Buffer.from([0x1f, 0x8b]);
const ZSTD = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

function isCompressed(head: Buffer): boolean {
  return head.subarray(0, 2).equals(GZIP) || head.subarray(0, 4).equals(ZSTD);
}

/** A directory, tarball or squashfs file as an uncompressed tar stream. */
export function layerSourceTar(path: string, kind: LayerSourceKind): Readable {
  if (kind === 'directory') return directoryToTar(path);
  return Readable.from(squashfsPackageTar(path, kind));
}

/**
 * A tarball or a squashfs file read by `@concil/squashfs`, imported when a layer is first read: the
 * commands that only read manifests (`concil list DIR`) do not load it.
 */
async function* squashfsPackageTar(path: string, kind: 'tar' | 'squashfs'): AsyncGenerator<Buffer> {
  const { decompressedTar, squashfsToTar } = await import('@concil/squashfs');
  if (kind === 'squashfs') yield* squashfsToTar(path);
  else yield* decompressedTar(createReadStream(path, { highWaterMark: 1 << 20 }));
}
