import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ReadOnlyMount {
  /** An empty directory on a read-only file system: writing below it fails with EROFS. */
  path: string;
  unmount(): Promise<void>;
}

/**
 * Mounts an empty read-only tmpfs, to provoke EROFS for real (a chmod would not stop root, as
 * which the tests run; mounting needs root too).
 */
export async function mountReadOnly(): Promise<ReadOnlyMount> {
  const path = await mkdtemp(join(tmpdir(), 'concil-read-only-'));
  await run('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', path]);
  return {
    path,
    async unmount() {
      await run('umount', [path]);
      await rm(path, { recursive: true, force: true });
    },
  };
}
