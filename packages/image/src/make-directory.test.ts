import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountReadOnly, type ReadOnlyMount } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDirectory } from './make-directory.js';

let work: string;
let readOnly: ReadOnlyMount;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-mkdir-'));
  readOnly = await mountReadOnly();
});

afterAll(async () => {
  await readOnly?.unmount();
  await rm(work, { recursive: true, force: true });
});

const isDirectory = async (path: string) => (await stat(path)).isDirectory();

describe('makeDirectory', () => {
  it('makes every missing directory of a path and returns the first it made', async () => {
    expect(await makeDirectory(join(work, 'a', 'b', 'c'))).toBe(join(work, 'a'));
    expect(await isDirectory(join(work, 'a', 'b', 'c'))).toBe(true);
    expect(await makeDirectory(join(work, 'a', 'b'))).toBeUndefined();
  });

  it('makes both paths when two calls share missing parents', async () => {
    const [x, y] = await Promise.all([
      makeDirectory(join(work, 'p', 'q', 'x')),
      makeDirectory(join(work, 'p', 'q', 'y')),
    ]);
    expect([x, y]).toContain(join(work, 'p'));
    expect(await isDirectory(join(work, 'p', 'q', 'x'))).toBe(true);
    expect(await isDirectory(join(work, 'p', 'q', 'y'))).toBe(true);
  });

  it('says EROFS on a read-only file system, where Node says ENOENT', async () => {
    await expect(makeDirectory(join(readOnly.path, 'a', 'b'))).rejects.toMatchObject({
      code: 'EROFS',
      path: join(readOnly.path, 'a'),
    });
  });

  it('says ENOTDIR when a file stands on the path or in its place', async () => {
    const file = join(work, 'file');
    await writeFile(file, '');
    await expect(makeDirectory(join(file, 'a'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(makeDirectory(file)).rejects.toMatchObject({ code: 'ENOTDIR', path: file });
  });
});
