import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * `mkdir -p` that says why it failed: Node's recursive mkdir reports ENOENT when the file system
 * is read-only (it looks the directory up again after EROFS). Returns the first directory it
 * made, as Node's does, or undefined when `dir` was there.
 */
export async function makeDirectory(dir: string): Promise<string | undefined> {
  try {
    await mkdir(dir);
    return dir;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if ((await stat(dir)).isDirectory()) return undefined;
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), {
        code: 'ENOTDIR',
        syscall: 'mkdir',
        path: dir,
      });
    }
    if (code !== 'ENOENT' || dirname(dir) === dir) throw error;
  }
  const first = await makeDirectory(dirname(dir));
  const made = await makeDirectory(dir);
  return first ?? made;
}
