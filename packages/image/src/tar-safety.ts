import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { ImageError } from './errors.js';

/** The header fields a path check looks at. */
export interface EntryHeader {
  name: string;
  type?: string | null;
  linkname?: string | null;
}

/**
 * The paths of one tar, checked entry after entry so that unpacking it cannot write outside its
 * tree: no absolute path, no `..`, nothing written through a symlink the tar made before, no
 * hard link out of the tree and no relative symlink that climbs above the root. (A symlink to an
 * absolute path is kept: runtimes resolve it inside the container's root, as images need.)
 */
export class TarPathCheck {
  readonly #symlinks = new Set<string>();

  /** `where` names the tar in messages (`layer sha256:…`, `--add-layer app=./app.tar`). */
  constructor(
    readonly where: string,
    readonly subject: string,
  ) {}

  /** The entry's path, relative and without `./` or slashes at either end; refused if unsafe. */
  check(header: EntryHeader): string {
    const path = this.#relative(header.name, 'entry');
    for (let end = path.indexOf('/'); end > 0; end = path.indexOf('/', end + 1)) {
      const ancestor = path.slice(0, end);
      if (this.#symlinks.has(ancestor)) {
        this.#refuse(
          `the entry ${JSON.stringify(header.name)} is written through the symlink ${JSON.stringify(ancestor)} it made before`,
        );
      }
    }
    if (header.type === 'link') this.#relative(header.linkname ?? '', `hard link ${header.name} →`);
    if (header.type === 'symlink') {
      const target = header.linkname ?? '';
      if (!target.startsWith('/') && climbsOut(posix.join(posix.dirname(path), target))) {
        this.#refuse(
          `the symlink ${JSON.stringify(header.name)} points at ${JSON.stringify(target)}, out of the tree`,
        );
      }
      this.#symlinks.add(path);
    } else {
      this.#symlinks.delete(path);
    }
    return path;
  }

  /** A hard link's target as the entry path it names (checked as `check` does). */
  linkTarget(linkname: string): string {
    return this.#relative(linkname, 'hard link target');
  }

  #relative(name: string, what: string): string {
    if (name.startsWith('/')) {
      this.#refuse(
        `the ${what} ${JSON.stringify(name)} is an absolute path; a layer's paths are relative to its root`,
      );
    }
    const parts = name.split('/').filter((part) => part !== '' && part !== '.');
    if (parts.includes('..')) this.#refuse(`the ${what} ${JSON.stringify(name)} leaves the tree with ..`);
    return parts.join('/');
  }

  #refuse(problem: string): never {
    throw new ImageError('LAYER_INVALID', `${this.where}: ${problem}; nothing was written`, this.subject);
  }
}

/** Whether a normalised relative path climbs above the root (`../x`, `..`). */
function climbsOut(joined: string): boolean {
  return joined === '..' || joined.startsWith('../');
}

/** Reads a tar's headers only (contents are skipped) and checks every path with a `TarPathCheck`. */
export async function checkTarPaths(tar: Readable, check: TarPathCheck): Promise<void> {
  const extract = tarStream.extract();
  tar.on('error', (error) => extract.destroy(error));
  tar.pipe(extract as unknown as NodeJS.WritableStream);
  try {
    for await (const entry of extract) {
      check.check(entry.header);
      entry.resume();
    }
  } finally {
    tar.destroy();
  }
}
