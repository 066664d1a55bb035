import { lstatSync, mkdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { PipelineError } from './errors.js';

/**
 * An entry's name as a path inside the tree: `./`, empty parts and trailing slashes dropped.
 * Absolute names and `..` parts are refused: they name a place outside the tree.
 */
export function entryPath(name: string, layer: string): string {
  const path = pathInside(name);
  if (path === undefined) {
    throw new PipelineError(
      'LAYER_UNSAFE',
      `layer ${layer} holds the entry ${JSON.stringify(name)}, which points outside the layer's tree; the layer is damaged or hostile, and nothing was unpacked`,
      name,
    );
  }
  return path;
}

/** `name` as a path inside the tree; undefined when it is absolute or climbs out with `..`. */
export function pathInside(name: string): string | undefined {
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  return name.startsWith('/') || parts.includes('..') ? undefined : parts.join('/');
}

/** The stat of `path` without following a link, or undefined when nothing is there. */
export function lstatOrNothing(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * The directory tree an unpacker writes into, with the paths below its root known to be real
 * directories (checked with lstat, or made here). Every entry's parents are checked before it is
 * written, so no write ever goes through a symbolic link, whatever the layer's links point at.
 */
export class SafeTree {
  /** Paths (relative to the root) that are real directories; '' is the root. */
  readonly #directories = new Set<string>(['']);

  constructor(
    readonly root: string,
    readonly layer: string,
  ) {}

  absolute(path: string): string {
    return path === '' ? this.root : join(this.root, path);
  }

  /**
   * Makes sure every parent of `path` is a real directory, making the missing ones; a parent that
   * is a link or a file is refused with the entry's name (`entry`, as the layer wrote it).
   */
  parents(path: string, entry: string): void {
    const parts = path.split('/');
    let current = '';
    for (let i = 0; i < parts.length - 1; i++) {
      current = current ? `${current}/${parts[i]}` : parts[i]!;
      if (this.#directories.has(current)) continue;
      const info = lstatOrNothing(this.absolute(current));
      if (!info) mkdirSync(this.absolute(current), { mode: 0o755 });
      else if (!info.isDirectory()) throw this.#throughNonDirectory(current, info, entry);
      this.#directories.add(current);
    }
  }

  /** Whether every parent of `path` is a real directory (nothing is made): for removals. */
  parentsAreDirectories(path: string): boolean {
    const parts = path.split('/');
    let current = '';
    for (let i = 0; i < parts.length - 1; i++) {
      current = current ? `${current}/${parts[i]}` : parts[i]!;
      if (this.#directories.has(current)) continue;
      if (!lstatOrNothing(this.absolute(current))?.isDirectory()) return false;
      this.#directories.add(current);
    }
    return true;
  }

  /** `path` is now a real directory. */
  isDirectory(path: string): void {
    this.#directories.add(path);
  }

  /** `path` was removed or replaced by something else: it and what was below are forgotten. */
  forget(path: string): void {
    if (!this.#directories.delete(path)) return;
    const below = `${path}/`;
    for (const known of this.#directories) if (known.startsWith(below)) this.#directories.delete(known);
  }

  #throughNonDirectory(parent: string, info: Stats, entry: string): PipelineError {
    const what = info.isSymbolicLink() ? 'a symbolic link' : 'not a directory';
    return new PipelineError(
      'LAYER_UNSAFE',
      `layer ${this.layer} holds the entry ${JSON.stringify(entry)}, whose parent ${parent} is ${what}: writing it would go ${info.isSymbolicLink() ? 'through the link, possibly outside the tree' : 'nowhere'}; the layer is damaged or hostile, and nothing was unpacked`,
      entry,
    );
  }
}
