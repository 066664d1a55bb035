import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import { ImageError } from './errors.js';

/** Where an entry's data lies in the archive file. */
interface TarEntry {
  type: string;
  /** The byte offset of the entry's data in the file. */
  offset: number;
  size: number;
  /** A symbolic or hard link's target, as a path inside the archive. */
  target: string | undefined;
}

/** Small members only (manifests, configs, index.json) are read whole. */
const MAX_METADATA_BYTES = 16 << 20;
const MAX_LINK_HOPS = 8;

/**
 * An uncompressed tar file indexed in one pass: each member is then read straight from the
 * file by offset, without extracting the archive. Every entry's path is checked while
 * indexing: one that is absolute or climbs out with `..` makes the whole archive invalid.
 */
export class TarArchive {
  readonly #entries: Map<string, TarEntry>;
  /** A spooled archive is read through its open file, which no longer has a name on the disk. */
  readonly #spool: FileHandle | undefined;

  private constructor(
    readonly path: string,
    readonly name: string,
    entries: Map<string, TarEntry>,
    spool?: FileHandle,
  ) {
    this.#entries = entries;
    this.#spool = spool;
  }

  static async open(path: string, name: string): Promise<TarArchive> {
    await refuseCompressed(path, name);
    try {
      return new TarArchive(
        path,
        name,
        await indexTar(name, createReadStream(path, { highWaterMark: 1 << 20 })),
      );
    } catch (cause) {
      if (cause instanceof ImageError) throw cause;
      const error = cause as NodeJS.ErrnoException;
      throw new ImageError(
        error.code === 'ENOENT' ? 'NOT_FOUND' : 'LAYOUT_INVALID',
        error.code === 'ENOENT'
          ? `${name}: ${path} does not exist`
          : `${name}: ${path} is not a readable tar archive (${error.message})`,
        path,
        { cause },
      );
    }
  }

  /**
   * A tar stream that can be read only once, in order (a daemon's `docker save` answer), indexed
   * while it is copied to a spool file in `directory`, so its members can then be read in any
   * order. The spool file is unlinked as soon as it is open: its space is freed on `close()` or
   * when the process ends, and nothing is left behind on the disk whatever happens.
   */
  static async spool(stream: Readable, name: string, directory = tmpdir()): Promise<TarArchive> {
    const path = join(directory, `.concil-spool-${randomBytes(6).toString('hex')}.tar`);
    const handle = await open(path, 'wx+', 0o600);
    await rm(path);
    try {
      let position = 0;
      const copy = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          handle.write(chunk, 0, chunk.length, position).then(() => callback(null, chunk), callback);
          position += chunk.length;
        },
      });
      return new TarArchive(path, name, await indexTar(name, stream, copy), handle);
    } catch (error) {
      await handle.close();
      if (error instanceof ImageError) throw error;
      throw new ImageError(
        'LAYOUT_INVALID',
        `${name}: the stream is not a readable tar archive (${(error as Error).message})`,
        name,
        { cause: error },
      );
    }
  }

  /** Frees a spooled archive's file; an archive read from a file has nothing to free. */
  async close(): Promise<void> {
    await this.#spool?.close();
  }

  /** Every member's path, in the order of the archive. */
  names(): string[] {
    return [...this.#entries.keys()];
  }

  /** The regular file at `member`, links followed; undefined when the archive has none. */
  find(member: string): { path: string; size: number } | undefined {
    let path = posix.normalize(member);
    for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
      const entry = this.#entries.get(path);
      if (!entry) return undefined;
      if (entry.type === 'file') return { path, size: entry.size };
      if (entry.target === undefined) return undefined;
      path = entry.target;
    }
    return undefined;
  }

  /** The bytes of the regular file at `member`, read straight from the archive file. */
  read(member: string): Readable {
    const found = this.find(member);
    const entry = found && this.#entries.get(found.path);
    if (!entry) {
      throw new ImageError('NOT_FOUND', `${this.name}: the archive holds no file ${member}`, member);
    }
    if (entry.size === 0) return Readable.from([]);
    const range = { start: entry.offset, end: entry.offset + entry.size - 1, highWaterMark: 1 << 20 };
    if (this.#spool) return this.#spool.createReadStream({ ...range, autoClose: false });
    return createReadStream(this.path, range);
  }

  /** The first `length` bytes of the regular file at `member` (fewer when it is shorter). */
  async head(member: string, length: number): Promise<Buffer> {
    const found = this.find(member);
    const entry = found && this.#entries.get(found.path);
    if (!entry)
      throw new ImageError('NOT_FOUND', `${this.name}: the archive holds no file ${member}`, member);
    return readAt(this.#spool ?? this.path, entry.offset, Math.min(length, entry.size));
  }

  /** A small member (JSON) as bytes. */
  async readBytes(member: string): Promise<Buffer> {
    const found = this.find(member);
    if (found && found.size > MAX_METADATA_BYTES) {
      throw new ImageError(
        'LAYOUT_INVALID',
        `${this.name}: ${member} has ${found.size} bytes, too many for metadata; the archive is not an image`,
        member,
      );
    }
    const chunks: Buffer[] = [];
    for await (const chunk of this.read(member)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
}

/** A member's path, normalised; absolute paths and `..` are refused (they would escape on extraction). */
function memberPath(raw: string, name: string): string {
  const normalized = posix.normalize(raw.replace(/\/+$/, ''));
  if (raw.startsWith('/') || normalized === '..' || normalized.startsWith('../')) {
    throw new ImageError(
      'LAYOUT_INVALID',
      `${name}: the archive has an entry "${raw}" that points outside it; it is damaged or malicious, and nothing was read from it`,
      raw,
    );
  }
  return normalized === '.' ? '' : normalized.replace(/^\.\//, '');
}

/**
 * Where a link points inside the archive (a symlink relative to its directory, a hard link from
 * the root); undefined for one pointing outside, which is then never followed.
 */
function linkTarget(member: string, link: string, symbolic: boolean): string | undefined {
  if (symbolic && link.startsWith('/')) return undefined;
  const target = posix.normalize(symbolic ? posix.join(posix.dirname(member), link) : link);
  return target === '..' || target.startsWith('../') || target.startsWith('/')
    ? undefined
    : target.replace(/^\.\//, '');
}

/** Compressed archives are not indexed: say how to use one. */
async function refuseCompressed(path: string, name: string): Promise<void> {
  const head = await readAt(path, 0, 4).catch((cause: NodeJS.ErrnoException) => {
    throw new ImageError(
      'NOT_FOUND',
      cause.code === 'ENOENT'
        ? `${name}: ${path} does not exist`
        : `${name}: cannot open ${path}: ${cause.message}`,
      path,
      { cause },
    );
  });
  if (compressionOf(head) !== 'none') {
    throw new ImageError(
      'UNSUPPORTED',
      `${name}: ${path} is a compressed archive; decompress it first (gunzip or unzstd) and use the .tar`,
      path,
    );
  }
}

/** What the first bytes of a file say about its compression. */
export function compressionOf(head: Uint8Array): 'gzip' | 'zstd' | 'none' {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (Buffer.from(head.subarray(0, 4)).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
  return 'none';
}

async function readAt(file: string | FileHandle, position: number, length: number): Promise<Buffer> {
  const handle = typeof file === 'string' ? await open(file) : file;
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(length), 0, length, position);
    return buffer.subarray(0, bytesRead);
  } finally {
    if (handle !== file) await handle.close();
  }
}

/** Every entry of a tar stream and where its data lies, each path checked as it passes (through `copy`, if given). */
async function indexTar(name: string, tar: Readable, copy?: Transform): Promise<Map<string, TarEntry>> {
  const entries = new Map<string, TarEntry>();
  const extract = tarStream.extract();
  const indexing = (async () => {
    for await (const entry of extract) {
      const { header } = entry;
      const member = memberPath(header.name, name);
      // tar-stream 3 records where each entry's data starts: exactly what reading by offset needs.
      const offset = (header as { byteOffset?: number }).byteOffset;
      if (typeof offset !== 'number') throw new Error('tar-stream gave no byteOffset');
      const link = header.type === 'symlink' || header.type === 'link' ? header.linkname : undefined;
      const target = link === undefined ? undefined : linkTarget(member, link, header.type === 'symlink');
      entries.set(member, { type: header.type ?? 'file', offset, size: header.size ?? 0, target });
      entry.resume();
    }
  })();
  await Promise.all([copy ? pipeline(tar, copy, extract) : pipeline(tar, extract), indexing]);
  return entries;
}
