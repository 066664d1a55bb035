import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { TrustError } from '../errors.js';

/**
 * The local trust cache under `notary_path`, laid out as notary's own client lays it out:
 * `tuf/<gun>/metadata/<role>.json`, the files exactly as the server served them (only metadata
 * that verified is written).
 */
export class TrustCache {
  readonly #dir: string;
  /** What each role's file holds, as last read or written: an unchanged file is not written again. */
  readonly #known = new Map<string, Buffer>();

  constructor(trustDir: string, gun: string) {
    this.#dir = join(trustDir, 'tuf', ...gunSegments(gun), 'metadata');
  }

  async read(role: string): Promise<Uint8Array | undefined> {
    try {
      const bytes = await readFile(this.#path(role));
      this.#known.set(role, bytes);
      return bytes;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async write(role: string, bytes: Uint8Array): Promise<void> {
    const content = Buffer.from(bytes);
    if (this.#known.get(role)?.equals(content)) return;
    const path = this.#path(role);
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, content, { mode: 0o644 });
    this.#known.set(role, content);
  }

  #path(role: string): string {
    return `${join(this.#dir, ...roleSegments(role))}.json`;
  }
}

/** A GUN's path segments, refused when one could leave the cache (`..`, empty, a backslash). */
export function gunSegments(gun: string): string[] {
  const segments = gun.split('/');
  if (segments.some((each) => each === '' || each === '.' || each === '..' || each.includes('\\'))) {
    throw new TrustError('METADATA_INVALID', `"${gun}" is not a GUN concil can keep trust data for`, gun);
  }
  return segments;
}

function roleSegments(role: string): string[] {
  if (
    !/^(root|timestamp|snapshot|targets(\/[A-Za-z0-9_.-]+)*)$/.test(role) ||
    role.split('/').includes('..')
  ) {
    throw new TrustError('METADATA_INVALID', `"${role}" is not a TUF role name`, role);
  }
  return role.split('/');
}
