import { randomBytes } from 'node:crypto';
import { readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isAlive } from '@concil/image';

/**
 * A temporary file in the store's tmp directory, named after the process that writes it so that
 * the next run can tell leftovers of a killed process from files still being written.
 */
export function temporaryPath(tmpDir: string, suffix = 'tmp'): string {
  return join(tmpDir, `${process.pid}-${randomBytes(6).toString('hex')}.${suffix}`);
}

/** Writes small content (records, manifests) to a temporary file and renames it into place. */
export async function writeFileAtomic(
  tmpDir: string,
  path: string,
  data: Uint8Array | string,
): Promise<void> {
  const tmp = temporaryPath(tmpDir);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** Removes the temporary files whose writer is no longer running. Returns how many, and their bytes. */
export async function removeLeftovers(
  tmpDir: string,
  options: { all?: boolean } = {},
): Promise<{ removed: number; bytes: number }> {
  let names: string[];
  try {
    names = await readdir(tmpDir);
  } catch {
    return { removed: 0, bytes: 0 };
  }
  let removed = 0;
  let bytes = 0;
  for (const name of names) {
    // `.name…tmp` files are the squashfs writer's own temporaries beside our temporary path.
    const pid = Number.parseInt(basename(name).replace(/^\./, '').split('-')[0] ?? '', 10);
    if (!options.all && Number.isInteger(pid) && pid > 0 && isAlive(pid)) continue;
    const info = await stat(join(tmpDir, name)).catch(() => undefined);
    await rm(join(tmpDir, name), { force: true, recursive: true });
    removed++;
    if (info?.isFile()) bytes += info.size;
  }
  return { removed, bytes };
}

/** The size of a file, or undefined when it does not exist. */
export async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Records a use of a file: its access time becomes now, its modification time stays. */
export async function touchAccess(path: string, now = Date.now()): Promise<void> {
  try {
    const info = await stat(path);
    await utimes(path, now / 1000, info.mtime);
  } catch {
    // A file removed meanwhile has no use to record.
  }
}

/**
 * Removes a temporary path and the squashfs writer's own temporaries beside it
 * (`.<name>.<random>.tmp`), which a stopped conversion may leave.
 */
export async function removeTemporary(path: string): Promise<void> {
  await rm(path, { force: true });
  const dir = dirname(path);
  const prefix = `.${basename(path)}.`;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.startsWith(prefix)) await rm(join(dir, name), { force: true });
  }
}
