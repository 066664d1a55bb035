import {
  chmodSync,
  chownSync,
  closeSync,
  fchmodSync,
  fchownSync,
  constants as fs,
  futimesSync,
  lchownSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import type { TarEntry } from '@concil/squashfs';
import { PipelineError } from './errors.js';
import { entryPath, lstatOrNothing, pathInside, SafeTree } from './safe-tree.js';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';

/** What becomes of a layer's whiteout entries. */
export type WhiteoutMode =
  /** Written as the empty files the layer holds (a layer kept as it is). */
  | 'keep'
  /** Made overlayfs whiteouts: a character device 0/0, `trusted.overlay.opaque=y` on a directory. */
  | 'overlay'
  /** Not written, only listed in the result: stacking applies them to the layers below. */
  | 'report';

export interface Whiteout {
  kind: 'remove' | 'opaque';
  /** The path removed, or the directory emptied of what was below. */
  path: string;
}

/** One entry of the layer's tar, for writing the tar again: its header bytes and its content. */
export interface RecordedEntry {
  /** How many header bytes the entry has in the headers file. */
  headerSize: number;
  /** A regular file's path in the tree, whose content follows the header; absent otherwise. */
  path?: string;
  size?: number;
}

export interface UnpackOptions {
  /** The layer's digest, for messages. */
  layer: string;
  whiteouts: WhiteoutMode;
  /** A file descriptor to write every entry's header bytes to (see `RecordedEntry`). */
  headersFd?: number;
}

export interface UnpackedLayer {
  /** With whiteouts `report`: the layer's whiteouts, in its order. */
  whiteouts: Whiteout[];
  /** Hard links whose target is not in this layer (a file of a layer below). */
  crossLayerLinks: { path: string; target: string }[];
  /** Directories the layer has an entry for (not only made as some entry's parent). */
  directories: Set<string>;
  /** With `headersFd`: every entry, in the tar's order. */
  entries: RecordedEntry[];
  /** Device nodes the process was not allowed to make. */
  devicesSkipped: number;
}

/** The xattr addon, loaded on first use: most layers carry none, and most commands unpack nothing. */
let xattr: typeof import('@napi-rs/xattr') | undefined;

function setAttributeSync(path: string, name: string, value: Uint8Array | string): void {
  xattr ??= createRequire(import.meta.url)('@napi-rs/xattr') as typeof import('@napi-rs/xattr');
  xattr.setAttributeSync(path, name, value);
}

/** Whether this process may give files away (lchown) and make device nodes. */
const privileged = process.geteuid?.() === 0;

/**
 * Unpacks one layer's tar into `root` (an empty directory), safely: no entry lands outside it
 * (absolute names, `..`, hard links pointing out are refused), no write goes through a symbolic
 * link (every parent is checked with lstat, files are made with O_NOFOLLOW|O_EXCL), owners and
 * device nodes only where the process may. Modes, mtimes, owners, xattrs and hard links are kept.
 * A hostile entry is a `LAYER_UNSAFE` error naming it; the caller removes `root`.
 */
export async function unpackLayer(
  tar: AsyncIterable<Uint8Array>,
  root: string,
  options: UnpackOptions,
): Promise<UnpackedLayer> {
  const tree = new SafeTree(root, options.layer);
  const result: UnpackedLayer = {
    whiteouts: [],
    crossLayerLinks: [],
    directories: new Set(),
    entries: [],
    devicesSkipped: 0,
  };
  const directoryTimes: { path: string; entry: TarEntry }[] = [];
  // @concil/squashfs (its tar reader) loads with the first layer unpacked, not with every opener of locations.
  const { readTar } = await import('@concil/squashfs');
  for await (const entry of readTar(tar, { keepHeaders: options.headersFd !== undefined })) {
    const path = entryPath(text(entry.name), options.layer);
    if (options.headersFd !== undefined) {
      writeAll(options.headersFd, entry.rawHeader!);
      result.entries.push(
        entry.type === 'file'
          ? { headerSize: entry.rawHeader!.length, path, size: entry.size }
          : { headerSize: entry.rawHeader!.length },
      );
    }
    if (path === '') {
      if (entry.type === 'directory') {
        directoryTimes.push({ path, entry });
        result.directories.add(path);
      }
      continue;
    }
    const slash = path.lastIndexOf('/');
    const name = path.slice(slash + 1);
    const parent = slash < 0 ? '' : path.slice(0, slash);
    if (options.whiteouts !== 'keep' && name.startsWith(WHITEOUT_PREFIX)) {
      const whiteout: Whiteout =
        name === OPAQUE_WHITEOUT
          ? { kind: 'opaque', path: parent }
          : {
              kind: 'remove',
              path: parent
                ? `${parent}/${name.slice(WHITEOUT_PREFIX.length)}`
                : name.slice(WHITEOUT_PREFIX.length),
            };
      if (whiteout.path === '' && whiteout.kind === 'remove')
        throw unsafe(options.layer, entry.name, 'removes the root');
      if (options.whiteouts === 'report') result.whiteouts.push(whiteout);
      else writeOverlayWhiteout(tree, whiteout, entry.name);
      continue;
    }
    tree.parents(path, entry.name);
    const target = tree.absolute(path);
    if (entry.type === 'directory') {
      const existing = lstatOrNothing(target);
      if (!existing?.isDirectory()) {
        if (existing) rmSync(target, { force: true });
        mkdirSync(target, { mode: 0o700 });
      }
      tree.isDirectory(path);
      result.directories.add(path);
      directoryTimes.push({ path, entry });
      continue;
    }
    if (entry.type === 'hardlink') {
      const linked = pathInside(text(entry.linkname));
      if (!linked || !tree.parentsAreDirectories(linked))
        throw unsafe(
          options.layer,
          entry.name,
          `is a hard link to ${JSON.stringify(entry.linkname)}, which is not a file of the layer`,
        );
      const info = lstatOrNothing(tree.absolute(linked));
      if (!info) {
        result.crossLayerLinks.push({ path, target: linked });
        continue;
      }
      if (info.isDirectory())
        throw unsafe(options.layer, entry.name, `is a hard link to the directory ${linked}`);
      if (linked === path) continue;
      replace(tree, path);
      linkSync(tree.absolute(linked), target);
      continue;
    }
    replace(tree, path);
    if (entry.type === 'file') await writeFile(target, entry);
    else if (entry.type === 'symlink') {
      symlinkSync(text(entry.linkname), target);
      if (privileged) lchownSync(target, entry.uid, entry.gid);
      lutimesSync(target, entry.mtime, entry.mtime);
    } else if (makeNode(target, entry)) {
      setMetadata(target, entry);
    } else {
      result.devicesSkipped++;
    }
  }
  // Directories last: making their entries changed their times, and a read-only one took no more.
  for (const { path, entry } of directoryTimes.reverse()) setMetadata(tree.absolute(path), entry);
  return result;
}

/**
 * A name as the reader gives it (one char per byte) as the UTF-8 text Node's file system calls take.
 * A name that is not UTF-8 is written with replacement characters.
 */
function text(binary: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII-only names need no decoding
  return /^[\x00-\x7f]*$/.test(binary) ? binary : Buffer.from(binary, 'latin1').toString('utf8');
}

function unsafe(layer: string, entry: string, what: string): PipelineError {
  return new PipelineError(
    'LAYER_UNSAFE',
    `layer ${layer} holds the entry ${JSON.stringify(entry)}, which ${what}; the layer is damaged or hostile, and nothing was unpacked`,
    entry,
  );
}

/** Whatever is at `path` goes: a later entry replaces an earlier one (a directory with its tree). */
function replace(tree: SafeTree, path: string): void {
  const target = tree.absolute(path);
  const existing = lstatOrNothing(target);
  if (!existing) return;
  rmSync(target, { recursive: existing.isDirectory(), force: true });
  tree.forget(path);
}

async function writeFile(target: string, entry: TarEntry): Promise<void> {
  const fd = openSync(target, fs.O_WRONLY | fs.O_CREAT | fs.O_EXCL | fs.O_NOFOLLOW, 0o600);
  try {
    const whole = entry.buffered();
    if (whole) writeAll(fd, whole);
    else for await (const chunk of entry.body()) writeAll(fd, chunk);
    // Owner first: giving a file away clears its set-id bits, which the mode then sets.
    if (privileged) fchownSync(fd, entry.uid, entry.gid);
    fchmodSync(fd, entry.mode);
    setXattrs(target, entry);
    futimesSync(fd, entry.mtime, entry.mtime);
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
}

/** A directory's, device's or fifo's owner, mode, xattrs and time (never a link's: they follow it). */
function setMetadata(target: string, entry: TarEntry): void {
  if (privileged) chownSync(target, entry.uid, entry.gid);
  chmodSync(target, entry.mode);
  setXattrs(target, entry);
  utimesSync(target, entry.mtime, entry.mtime);
}

/** xattrs the process may not set (`trusted.*` unprivileged, a file system without them) are left out. */
function setXattrs(target: string, entry: TarEntry): void {
  for (const [name, value] of entry.xattrs) {
    try {
      setAttributeSync(target, name, value);
    } catch {
      // Not allowed here: as tar and umoci do, the file is kept without it.
    }
  }
}

/** node:child_process, loaded on first use: most layers make no device node. */
const childProcess = () => process.getBuiltinModule('node:child_process');

/** A device node or fifo, made with mknod(1) (Node has no mknod); false when not allowed. */
function makeNode(target: string, entry: TarEntry): boolean {
  const kind = entry.type === 'char' ? 'c' : entry.type === 'block' ? 'b' : 'p';
  if (kind !== 'p' && !privileged) return false;
  const numbers = kind === 'p' ? [] : [String(entry.devmajor), String(entry.devminor)];
  try {
    childProcess().execFileSync('mknod', [target, kind, ...numbers], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** overlayfs's form of a whiteout: a 0/0 character device, or the opaque xattr on the directory. */
function writeOverlayWhiteout(tree: SafeTree, whiteout: Whiteout, entry: string): void {
  if (whiteout.kind === 'opaque') {
    if (whiteout.path !== '') {
      tree.parents(`${whiteout.path}/x`, entry);
    }
    setAttributeSync(tree.absolute(whiteout.path), 'trusted.overlay.opaque', 'y');
    return;
  }
  tree.parents(whiteout.path, entry);
  replace(tree, whiteout.path);
  try {
    childProcess().execFileSync('mknod', [tree.absolute(whiteout.path), 'c', '0', '0'], { stdio: 'pipe' });
  } catch (cause) {
    throw new PipelineError(
      'UNSUPPORTED',
      `layer ${tree.layer}: the whiteout ${JSON.stringify(entry)} needs a 0/0 character device, which this process may not make (${(cause as Error).message.trim()}); run as root or use another sink`,
      entry,
      { cause },
    );
  }
}
