import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

describe('importing @concil/store', () => {
  it('installs no signal handlers: proper-lockfile (signal-exit) loads when a lock is first taken', async () => {
    const script = `await import('@concil/store');
console.log(JSON.stringify(${JSON.stringify(SIGNALS)}.map((signal) => process.listenerCount(signal))));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: import.meta.dirname,
    });
    expect(JSON.parse(stdout)).toEqual([0, 0, 0, 0]);
  });
});
