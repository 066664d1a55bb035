import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { PipelineError } from './errors.js';
import { SafeTree } from './safe-tree.js';
import type { RecordedEntry } from './unpack-layer.js';

/** What `extracted:` keeps of a layer beside its tree, to write its tar again byte for byte. */
export interface LayerRecord {
  /** The digest and size of the layer's tar (its diff_id). */
  diffId: string;
  tarSize: number;
  /** Each entry: its header's size in the headers file, and a regular file's path and size. */
  entries: [headerSize: number, path?: string, size?: number][];
}

export function layerRecord(diffId: string, tarSize: number, entries: readonly RecordedEntry[]): LayerRecord {
  return {
    diffId,
    tarSize,
    entries: entries.map((e) => (e.path === undefined ? [e.headerSize] : [e.headerSize, e.path, e.size!])),
  };
}

const BLOCK = 512;
const CHUNK = 1 << 20;

/**
 * A layer's tar written again from its unpacked tree and its record: each entry's header bytes as
 * they were, a file's content read from the tree (never through a link), zero padding, and the
 * end of the archive as long as it was. The same bytes as the original tar, so the same diff_id,
 * as long as the tree was not changed (the copy checks the digest).
 */
export function extractedLayerTar(tree: string, headers: string, record: LayerRecord): Readable {
  return Readable.from(tarChunks(tree, headers, record), { objectMode: false });
}

async function* tarChunks(root: string, headersPath: string, record: LayerRecord): AsyncGenerator<Buffer> {
  const tree = new SafeTree(root, root);
  const headers = openSync(headersPath, constants.O_RDONLY);
  let written = 0;
  try {
    for (const [i, [headerSize, path, size]] of record.entries.entries()) {
      yield readExactly(headers, headerSize, headersPath);
      written += headerSize;
      if (path === undefined || size === undefined) continue;
      yield* fileChunks(tree, path, size);
      written += size;
      const padding = (BLOCK - (size % BLOCK)) % BLOCK;
      if (i < record.entries.length - 1 && padding > 0) {
        yield Buffer.alloc(padding);
        written += padding;
      }
    }
  } finally {
    closeSync(headers);
  }
  const tail = record.tarSize - written;
  if (tail < 0) throw changed(root, 'its record adds up to more than the tar it was unpacked from');
  for (let left = tail; left > 0; left -= CHUNK) yield Buffer.alloc(Math.min(left, CHUNK));
}

function* fileChunks(tree: SafeTree, path: string, size: number): Generator<Buffer> {
  if (!tree.parentsAreDirectories(path))
    throw changed(tree.root, `${path} is no longer below real directories`);
  let fd: number;
  try {
    fd = openSync(tree.absolute(path), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (cause) {
    throw changed(tree.root, `${path} cannot be read (${(cause as Error).message})`);
  }
  try {
    if (!fstatSync(fd).isFile()) throw changed(tree.root, `${path} is no longer a file`);
    for (let left = size; left > 0; ) {
      const chunk = readExactly(fd, Math.min(left, CHUNK), path);
      left -= chunk.length;
      yield chunk;
    }
  } finally {
    closeSync(fd);
  }
}

function readExactly(fd: number, length: number, what: string): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buffer, got, length - got, null);
    if (n === 0) throw changed(what, 'it is shorter than when it was written');
    got += n;
  }
  return buffer;
}

function changed(where: string, what: string): PipelineError {
  return new PipelineError(
    'NOT_FOUND',
    `the extracted layer at ${where} cannot be written as a tar again: ${what}; it was changed after extraction, extract the image again`,
    where,
  );
}
