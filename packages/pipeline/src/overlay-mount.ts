import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PipelineError } from './errors.js';
import { MOUNTS_RECORD, type MountsRecord } from './mounts.js';

/**
 * mount(8) and friends. node:child_process and node:util are loaded on first use, not by every
 * command that loads the pipeline: node:util's namespace, as an import reads it, loads its lazy
 * members (an argument parser, a diff, worker threads: ~3 ms of each start).
 */
const run = (command: string, args: readonly string[]) =>
  process.getBuiltinModule('node:util').promisify(process.getBuiltinModule('node:child_process').execFile)(
    command,
    args,
  );

/**
 * Mounts the image a `mounts:DIR` sink wrote at `target`, read-only, with mount(8): its squashfs
 * layers first (loop devices, each once), then the overlay of all its layers. Needs the right to
 * mount (root, or a user namespace that has it); mount's refusal is a `MOUNT_FAILED` error.
 */
export async function mountImage(dir: string, target: string): Promise<void> {
  const root = resolve(dir);
  const recordPath = join(root, MOUNTS_RECORD);
  const bytes = await readFile(recordPath).catch((cause: unknown) => {
    throw new PipelineError(
      'NOT_FOUND',
      `${dir} holds no ${MOUNTS_RECORD}: it is not a directory written by mounts:DIR`,
      recordPath,
      { cause },
    );
  });
  const record = JSON.parse(bytes.toString('utf8')) as MountsRecord;
  const mounted = await mountPoints();
  for (const layer of record.layers) {
    if (layer.kind !== 'squashfs' || !layer.mountpoint) continue;
    const point = join(root, layer.mountpoint);
    if (mounted.has(point)) continue;
    await mkdir(point, { recursive: true });
    await mount(['-t', 'squashfs', '-o', 'loop,ro', join(root, layer.path), point], point);
  }
  await mount(['-t', 'overlay', 'overlay', '-o', record.options, resolve(target)], resolve(target));
}

/** Unmounts an image mounted by `mountImage`, then the squashfs layers under it that nothing else uses. */
export async function unmountImage(target: string): Promise<void> {
  const point = resolve(target);
  const mounts = await mountPoints();
  const overlay = mounts.get(point);
  if (overlay?.type !== 'overlay') {
    throw new PipelineError(
      'NOT_FOUND',
      `${target} is not an overlay mount point; nothing was unmounted`,
      point,
    );
  }
  await umount(point);
  const lower = /(?:^|,)lowerdir=([^,]*)/.exec(overlay.options)?.[1]?.split(':') ?? [];
  for (const dir of lower) {
    if (mounts.get(dir)?.type !== 'squashfs') continue;
    await umount(dir).catch(() => undefined); // still used by another mount of the image: left mounted
  }
}

async function mount(args: string[], point: string): Promise<void> {
  try {
    await run('mount', args);
  } catch (cause) {
    throw new PipelineError(
      'MOUNT_FAILED',
      `cannot mount ${point}: ${((cause as { stderr?: string }).stderr ?? (cause as Error).message).trim()}; mounting needs root (or CAP_SYS_ADMIN)`,
      point,
      { cause },
    );
  }
}

async function umount(point: string): Promise<void> {
  try {
    await run('umount', [point]);
  } catch (cause) {
    throw new PipelineError(
      'MOUNT_FAILED',
      `cannot unmount ${point}: ${((cause as { stderr?: string }).stderr ?? (cause as Error).message).trim()}`,
      point,
      { cause },
    );
  }
}

/** The mount points of this process's namespace: type and super options, from /proc/self/mountinfo. */
async function mountPoints(): Promise<Map<string, { type: string; options: string }>> {
  const points = new Map<string, { type: string; options: string }>();
  for (const line of (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const point = unescapeOctal(left.split(' ')[4] ?? '');
    const [type = '', , options = ''] = right.split(' ');
    points.set(point, { type, options: unescapeOctal(options) });
  }
  return points;
}

/** mountinfo writes space, tab, newline and backslash as octal escapes. */
function unescapeOctal(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}
