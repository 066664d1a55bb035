import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { openSquashfs } from '@concil/squashfs';
import tarStream from 'tar-stream';
import { readAll } from './fixture-image.js';

/**
 * A layer's entries, path → `type mode uid:gid mtime content`, the content being a file's
 * sha256 or a symlink's target; hard-linked paths also list every path of their inode. The root
 * directory is left out (a tar may have no entry for it). Read by three independent readers:
 * tar-stream, our squashfs reader, and the tree `unsquashfs` extracts.
 */
export type LayerTree = Map<string, string>;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const octal = (mode: number) => (mode & 0o7777).toString(8);

function withLinks(tree: LayerTree, groups: Iterable<string[]>): LayerTree {
  for (const paths of groups) {
    if (paths.length < 2) continue;
    const links = ` links=${[...paths].sort().join(',')}`;
    for (const path of paths) tree.set(path, tree.get(path)! + links);
  }
  return tree;
}

export async function tarTree(tar: Uint8Array): Promise<LayerTree> {
  const tree: LayerTree = new Map();
  const groups = new Map<string, string[]>();
  const extract = tarStream.extract();
  Readable.from([Buffer.from(tar)]).pipe(extract);
  for await (const entry of extract) {
    const h = entry.header;
    const path = h.name.replace(/^\.?\/+/, '').replace(/\/+$/, '');
    const content = await readAll(entry as AsyncIterable<Uint8Array>);
    if (!path) continue;
    const head = `${octal(h.mode ?? 0)} ${h.uid}:${h.gid} ${Math.floor(h.mtime!.getTime() / 1000)}`;
    if (h.type === 'link') {
      const target = h.linkname!.replace(/^\.?\/+/, '');
      tree.set(path, tree.get(target)!);
      groups.set(target, [...(groups.get(target) ?? [target]), path]);
    } else if (h.type === 'file') tree.set(path, `file ${head} ${sha256(content)}`);
    else if (h.type === 'symlink') tree.set(path, `symlink ${head} ${h.linkname}`);
    else tree.set(path, `${h.type} ${head}`);
  }
  return withLinks(tree, groups.values());
}

export async function squashfsTree(image: string): Promise<LayerTree> {
  const reader = await openSquashfs(image);
  const tree: LayerTree = new Map();
  const groups = new Map<number, string[]>();
  try {
    for (const e of reader.walk()) {
      if (e.path === '') continue;
      const head = `${octal(e.mode)} ${e.uid}:${e.gid} ${e.mtime}`;
      if (e.type === 'file') {
        tree.set(e.path, `file ${head} ${sha256(await readAll(reader.readFile(e.path)))}`);
        if (e.nlink > 1) groups.set(e.inodeNumber, [...(groups.get(e.inodeNumber) ?? []), e.path]);
      } else if (e.type === 'symlink') tree.set(e.path, `symlink ${head} ${e.linkTarget}`);
      else tree.set(e.path, `${e.type} ${head}`);
    }
  } finally {
    reader.close();
  }
  return withLinks(tree, groups.values());
}

/** The tree `unsquashfs -d` extracted (owners and times as stored when run as root). */
export async function extractedTree(root: string): Promise<LayerTree> {
  const tree: LayerTree = new Map();
  const groups = new Map<number, string[]>();
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = prefix ? `${prefix}/${name}` : name;
      const full = join(dir, name);
      const info = await lstat(full);
      const head = `${octal(info.mode)} ${info.uid}:${info.gid} ${Math.floor(info.mtimeMs / 1000)}`;
      if (info.isDirectory()) {
        tree.set(path, `directory ${head}`);
        await walk(full, path);
      } else if (info.isSymbolicLink()) tree.set(path, `symlink ${head} ${await readlink(full)}`);
      else {
        tree.set(path, `file ${head} ${sha256(await readFile(full))}`);
        if (info.nlink > 1) groups.set(info.ino, [...(groups.get(info.ino) ?? []), path]);
      }
    }
  };
  await walk(root, '');
  return withLinks(tree, groups.values());
}
