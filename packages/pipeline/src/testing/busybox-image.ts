import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { rawTar, type TestImage, writeImage } from './image-layout.js';

/** What `runc run` of a bundle of the busybox image prints. */
export const busyboxImageOutput = 'hello from a concil bundle\n405\n100\ngone\n/etc\n';

/**
 * Writes an OCI layout at `dir` tagged `latest` of a runnable image: the host's static busybox as
 * /bin/sh, a user and groups, a file the second layer whites out, and a command that prints
 * `busyboxImageOutput` (the file, the user's uid and gid, that the whiteout applied, the cwd).
 */
export async function writeBusyboxImage(dir: string): Promise<TestImage> {
  const busybox = await readFile('/bin/busybox');
  const base = await rawTar([
    { name: 'bin/', type: 'directory', mode: 0o755 },
    { name: 'bin/busybox', content: busybox, mode: 0o755 },
    { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
    { name: 'etc/', type: 'directory', mode: 0o755 },
    { name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\nguest:x:405:100::/:/bin/sh\n' },
    { name: 'etc/group', content: 'root:x:0:\nusers:x:100:\nextra:x:7:guest\n' },
    { name: 'etc/gone', content: 'removed by the second layer\n' },
    { name: 'msg', content: 'hello from a concil bundle\n' },
  ]);
  const top = await rawTar([
    { name: 'etc/', type: 'directory', mode: 0o755 },
    { name: 'etc/.wh.gone', content: '' },
  ]);
  return writeImage(dir, [base, top], {
    User: 'guest',
    Entrypoint: ['/bin/sh', '-c'],
    Cmd: ['cat /msg; id -u; id -g; test -e /etc/gone || echo gone; pwd'],
    WorkingDir: '/etc',
  });
}

/** `runc run --bundle BUNDLE` under a fresh container id; its stdout. The container is deleted after. */
export async function runBundle(bundle: string): Promise<string> {
  const run = promisify(execFile);
  const id = `concil-test-${process.pid}-${Date.now()}`;
  const { stdout } = await run('runc', ['run', '--bundle', bundle, id], { timeout: 60_000 }).finally(() =>
    run('runc', ['delete', '--force', id]).catch(() => undefined),
  );
  return stdout;
}
