import { execFile, spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

/** Helpers that run the reference tools (squashfs-tools, squashfs-tools-ng) against our images. */
export const exec = promisify(execFile);

export async function run(
  cmd: string,
  args: string[],
): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const r = await exec(cmd, args, { maxBuffer: 512 * 1024 * 1024 });
    return { stdout: r.stdout, stderr: r.stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: typeof e.code === 'number' ? e.code : -1 };
  }
}

/** Run a command with a file on stdin. */
export function runWithInput(
  cmd: string,
  args: string[],
  inputPath: string,
): Promise<{ code: number; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, stderr }));
    createReadStream(inputPath).pipe(child.stdin);
    child.stdin.on('error', () => {});
  });
}

/** tar2sqfs with settings that make it comparable to ours: implied dirs like ours, fail instead of skipping. */
export async function tar2sqfs(
  tarPath: string,
  out: string,
  compressor = 'gzip',
  blockSize = 131072,
  level?: number,
) {
  const args = [
    '-q',
    '-f',
    '-s',
    '-j',
    '2',
    '-c',
    compressor,
    '-b',
    String(blockSize),
    '-d',
    'mode=0755,uid=0,gid=0,mtime=0',
  ];
  if (level !== undefined) args.push('-X', `level=${level}`);
  const r = await runWithInput('tar2sqfs', [...args, out], tarPath);
  if (r.code !== 0) throw new Error(`tar2sqfs failed (${r.code}): ${r.stderr}`);
}

/** `unsquashfs -lln` without the extraction-directory prefix. */
export async function listing(image: string): Promise<string[]> {
  const r = await run('unsquashfs', ['-lln', '-d', '', image]);
  if (r.code !== 0) throw new Error(`unsquashfs -lln failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/\s+/g, ' '));
}

export async function sqfsdiff(
  a: string,
  b: string,
  extra: string[] = [],
): Promise<{ code: number; out: string }> {
  const r = await run('sqfsdiff', [...extra, '-a', a, '-b', b]);
  return { code: r.code, out: r.stdout + r.stderr };
}

export function tempDir(prefix = 'sqfs-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Fixtures made by other tools, kept in the package so a clone anywhere runs its tests. */
export const FIXTURES = resolve(import.meta.dirname, '../../fixtures');
/** `<repo>/.cache`, for expensive generated inputs. */
export const CACHE = resolve(import.meta.dirname, '../../../../.cache');
