import type { ChildProcess } from 'node:child_process';

const running = new Set<ChildProcess>();
let installed = false;

/** Remembers a child so that it is killed when this process exits, whatever the reason. */
export function reapOnExit(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (installed) return;
  installed = true;
  process.once('exit', () => {
    for (const each of running) {
      if (each.pid !== undefined && each.exitCode === null) {
        try {
          process.kill(each.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });
}

/** Stops a child by its PID: SIGTERM, then SIGKILL after `graceMs`, and waits for it to exit. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}
