import { setTimeout as sleep } from 'node:timers/promises';

export type Release = () => Promise<void>;

export interface LockWaitOptions {
  /** A lock whose holder has not refreshed it for this long is taken over (the holder died). */
  staleMs: number;
  /** Checked while waiting: when it turns true the lock is no longer needed and none is taken. */
  satisfied?: () => Promise<boolean>;
  signal?: AbortSignal;
  pollMs?: number;
}

/**
 * Takes a lock shared by every process using the store (a directory created atomically, its
 * mtime refreshed while held; proper-lockfile). Waits while another process holds it, and takes
 * it over when that holder stopped refreshing it (it was killed). Returns undefined when
 * `satisfied` says the work the lock guards was done by the other holder meanwhile.
 */
export async function acquireLock(
  lockfilePath: string,
  options: LockWaitOptions,
): Promise<Release | undefined> {
  const pollMs = options.pollMs ?? 50;
  // Loaded when a lock is first taken: proper-lockfile puts a handler on every signal when it loads
  // (signal-exit) and brings graceful-fs, which commands that take no lock (list docker://) never need.
  // Its default export, module.exports: a bundle (the concil command) gives a CommonJS module's
  // named exports no binding when it is imported dynamically.
  const { lock } = (await import('proper-lockfile')).default;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const release = await lock(lockfilePath, {
        realpath: false,
        lockfilePath,
        stale: options.staleMs,
        update: Math.max(1000, Math.floor(options.staleMs / 4)),
        retries: 0,
        // A compromised lock (its directory removed or taken over after a long stall) must not
        // crash the process: the write it guarded is still verified and renamed atomically.
        onCompromised: () => {},
      });
      return async () => {
        try {
          await release();
        } catch {
          // Already released or taken over: nothing left to undo.
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
    }
    if (options.satisfied && (await options.satisfied())) return undefined;
    await sleep(pollMs, undefined, options.signal ? { signal: options.signal } : undefined);
  }
}
