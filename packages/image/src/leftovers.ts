import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The part of a temporary name that says which process made it, `<pid>-<random>`, so that a
 * later run can tell what a killed process left from what a running one is still writing.
 */
export function ownedSuffix(): string {
  return `${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** The pattern of `ownedSuffix()`, its pid captured as the group `pid`. */
export const OWNED_SUFFIX = String.raw`(?<pid>\d+)-[0-9a-f]{12}`;

/**
 * Calls `remove` for each entry of `dir` whose name matches `pattern` (with `OWNED_SUFFIX` in it)
 * when the process that made it is gone; by default the entry is deleted.
 */
export async function removeLeftovers(
  dir: string,
  pattern: RegExp,
  remove: (path: string, match: RegExpExecArray) => Promise<void> = (path) =>
    rm(path, { recursive: true, force: true }),
): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const match = pattern.exec(name);
    const pid = Number(match?.groups?.pid);
    if (match && Number.isSafeInteger(pid) && !isAlive(pid)) await remove(join(dir, name), match);
  }
}

/** Whether process `pid` still runs (EPERM: it does, as another user's); this process always does. */
export function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
