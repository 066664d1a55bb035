import { readablePath, SquashfsError } from './errors.js';
import type { FileLayout } from './file-layout.js';
import type { TarEntry } from './tar-input.js';

export type NodeKind = 'directory' | 'file' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

/** One inode of the image being built; hard links are several directory entries naming the same Node. */
export interface Node {
  kind: NodeKind;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  xattrs: ReadonlyMap<string, Buffer>;
  /** Directory entries naming this node (hard links), counted when the tree is finished; directories have one. */
  links: number;
  children?: Map<string, Node>;
  target?: string;
  devmajor?: number;
  devminor?: number;
  layout?: FileLayout;
  /** Inode number, assigned when the tables are written. */
  number?: number;
  /** Set once the inode has been written: its reference in the inode table. */
  ref?: number;
}

/** Shared by every node without xattrs (most of them): never mutated, replaced when xattrs are added. */
export const NO_XATTRS: ReadonlyMap<string, Buffer> = new Map();

/** Attributes of directories that only appear implied by a deeper path (tar2sqfs's defaults). */
const IMPLIED_DIR = { mode: 0o755, uid: 0, gid: 0, mtime: 0 };

/** The device numbers squashfs stores, as Linux's 32-bit dev_t encoding holds them. */
const MAX_DEV_MAJOR = 0xfff;
const MAX_DEV_MINOR = 0xfffff;

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

/**
 * Linux's PATH_MAX: no system could open a longer path from the image, and it bounds the depth of
 * the tree (2048 levels), which the writer walks recursively.
 */
const MAX_PATH_BYTES = 4096;

/** Split a tar path (a binary string, see TarEntry) into clean components; '' and '.' vanish, '..' is refused. */
export function pathComponents(name: string): string[] {
  if (name.length > MAX_PATH_BYTES) {
    throw new SquashfsError(
      'LIMIT_EXCEEDED',
      `a tar entry path is ${name.length} bytes long, more than Linux opens (${MAX_PATH_BYTES})`,
      `${readablePath(name.slice(0, 100))}…`,
    );
  }
  if (name.includes('\0')) {
    // Only a PAX path can hold one; no file system can name such a file, and unsquashfs refuses it.
    throw new SquashfsError('TAR_CORRUPT', 'tar entry path contains a NUL byte', readablePath(name));
  }
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw new SquashfsError(
      'TAR_CORRUPT',
      'tar entry path contains "..": refusing to leave the root',
      readablePath(name),
    );
  }
  for (const p of parts) {
    if (p.length > 256) {
      throw new SquashfsError(
        'LIMIT_EXCEEDED',
        'a file name is longer than squashfs allows (256 bytes)',
        readablePath(name),
      );
    }
  }
  return parts;
}

export function newDirectory(attrs = IMPLIED_DIR): Node {
  return { kind: 'directory', ...attrs, xattrs: NO_XATTRS, links: 1, children: new Map() };
}

/** The tree of a tar stream: applies duplicates (last wins), implied directories, hard links and whiteouts. */
export class Tree {
  readonly root: Node = newDirectory();
  private readonly overlayWhiteouts: boolean;
  private readonly pendingLinks: { path: string[]; target: string[]; name: string }[] = [];

  constructor(overlayWhiteouts: boolean) {
    this.overlayWhiteouts = overlayWhiteouts;
  }

  private parentOf(parts: string[]): Node {
    let dir = this.root;
    for (const p of parts.slice(0, -1)) {
      let child = dir.children!.get(p);
      if (child === undefined || child.kind !== 'directory') {
        // A path through a non-directory: like tar extraction, the directory replaces it.
        child = newDirectory();
        dir.children!.set(p, child);
      }
      dir = child;
    }
    return dir;
  }

  lookup(parts: string[]): Node | undefined {
    let node: Node | undefined = this.root;
    for (const p of parts) {
      node = node?.children?.get(p);
      if (node === undefined) return undefined;
    }
    return node;
  }

  private place(parts: string[], node: Node): void {
    const dir = this.parentOf(parts);
    dir.children!.set(parts[parts.length - 1]!, node);
  }

  /** Add an entry; returns the node whose file data the caller must fill in, if any. */
  add(entry: TarEntry): Node | undefined {
    const parts = pathComponents(entry.name);
    // A symlink's permissions mean nothing on Linux: stored as 0777, as tar2sqfs and the kernel have them.
    const mode = entry.type === 'symlink' ? 0o777 : entry.mode & 0o7777;
    const attrs = { mode, uid: entry.uid, gid: entry.gid, mtime: entry.mtime };
    if (parts.length === 0) {
      if (entry.type === 'directory') Object.assign(this.root, attrs, { xattrs: entry.xattrs });
      return undefined;
    }
    const name = parts[parts.length - 1]!;

    if (this.overlayWhiteouts && name.startsWith(WHITEOUT_PREFIX)) {
      if (name === OPAQUE_MARKER) {
        const dir = parts.length === 1 ? this.root : this.lookupOrCreateDir(parts.slice(0, -1));
        dir.xattrs = new Map(dir.xattrs).set('trusted.overlay.opaque', Buffer.from('y'));
        return undefined;
      }
      const hidden = name.slice(WHITEOUT_PREFIX.length);
      if (hidden === '') return undefined;
      if (hidden === '.' || hidden === '..') {
        // A device named "." or ".." would make a directory no reader can walk.
        throw new SquashfsError('TAR_CORRUPT', `whiteout "${name}" names no file`, readablePath(entry.name));
      }
      // overlayfs marks a deleted name with a 0/0 character device of the same name.
      this.place([...parts.slice(0, -1), hidden], {
        kind: 'char',
        ...attrs,
        xattrs: NO_XATTRS,
        links: 1,
        devmajor: 0,
        devminor: 0,
      });
      return undefined;
    }

    switch (entry.type) {
      case 'directory': {
        const existing = this.lookup(parts);
        if (existing?.kind === 'directory') {
          // A repeated directory keeps its contents; its attributes follow the later entry.
          Object.assign(existing, attrs, { xattrs: entry.xattrs });
          return undefined;
        }
        this.place(parts, { ...newDirectory(attrs), xattrs: entry.xattrs });
        return undefined;
      }
      case 'hardlink': {
        const target = pathComponents(entry.linkname);
        const node = this.lookup(target);
        if (node && node.kind !== 'directory') {
          this.place(parts, node);
        } else {
          // The target may come later in the stream; resolve once everything is read.
          this.pendingLinks.push({ path: parts, target, name: entry.name });
        }
        return undefined;
      }
      case 'symlink':
        if (entry.linkname.includes('\0')) {
          throw new SquashfsError(
            'TAR_CORRUPT',
            'tar symlink target contains a NUL byte',
            readablePath(entry.name),
          );
        }
        this.place(parts, {
          kind: 'symlink',
          ...attrs,
          xattrs: entry.xattrs,
          links: 1,
          target: entry.linkname,
        });
        return undefined;
      case 'char':
      case 'block':
      case 'fifo':
        if (entry.type !== 'fifo' && (entry.devmajor > MAX_DEV_MAJOR || entry.devminor > MAX_DEV_MINOR)) {
          // Stored cut short, it would name another device.
          throw new SquashfsError(
            'LIMIT_EXCEEDED',
            `device ${entry.devmajor}:${entry.devminor} does not fit squashfs's 12-bit major and 20-bit minor`,
            readablePath(entry.name),
          );
        }
        this.place(parts, {
          kind: entry.type,
          ...attrs,
          xattrs: entry.xattrs,
          links: 1,
          devmajor: entry.devmajor,
          devminor: entry.devminor,
        });
        return undefined;
      case 'file': {
        const node: Node = { kind: 'file', ...attrs, xattrs: entry.xattrs, links: 1 };
        this.place(parts, node);
        return node;
      }
    }
  }

  private lookupOrCreateDir(parts: string[]): Node {
    const existing = this.lookup(parts);
    if (existing?.kind === 'directory') return existing;
    const dir = newDirectory();
    this.place(parts, dir);
    return dir;
  }

  /** Resolve hard links whose target came later; a target that never came is an error. */
  finish(): void {
    for (const link of this.pendingLinks) {
      const node = this.lookup(link.target);
      if (!node || node.kind === 'directory') {
        throw new SquashfsError(
          'TAR_CORRUPT',
          `hard link points to "${readablePath(link.target.join('/'))}", which is not a file in the archive`,
          readablePath(link.name),
        );
      }
      this.place(link.path, node);
    }
    this.countLinks();
  }

  /**
   * A file's link count is the number of names it has in the finished tree. Counted at the end, since
   * later entries replace names and whole directories, taking the names inside them along.
   */
  private countLinks(): void {
    // Twice over the tree, counting on the nodes themselves: no map of every file.
    for (const count of [false, true]) {
      const dirs = [this.root];
      for (let dir = dirs.pop(); dir; dir = dirs.pop()) {
        dir.children!.forEach((child) => {
          if (child.kind === 'directory') dirs.push(child);
          else child.links = count ? child.links + 1 : 0;
        });
      }
    }
  }
}
