import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const running = new Set<ChildProcess>();
const leftovers = new Map<ChildProcess, string>();
let installed = false;

function killAll(): void {
  for (const each of running) {
    if (each.pid !== undefined && each.exitCode === null) {
      try {
        process.kill(each.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    const dir = leftovers.get(each);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Remembers a child so that it is killed when this process exits, whatever the reason: on
 * 'exit', and on SIGINT/SIGTERM/SIGHUP (after which the signal is raised again, so the process
 * still ends as it would have). Its temporary directory, if given, is removed with it.
 */
export function reapOnExit(child: ChildProcess, tempDir?: string): void {
  running.add(child);
  if (tempDir) leftovers.set(child, tempDir);
  child.once('exit', () => {
    running.delete(child);
    leftovers.delete(child);
  });
  if (installed) return;
  installed = true;
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAll();
      process.removeListener(signal, onSignal);
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
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
