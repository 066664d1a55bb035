import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Target } from '@concil/oci-spec';
import { buildFixtureLayout, mountReadOnly, type ReadOnlyMount } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from './atomic-file.js';
import { copy } from './copy.js';
import { ImageDirectory } from './image-directory.js';
import { OciLayout } from './oci-layout.js';

let work: string;
let readOnly: ReadOnlyMount;
let source: OciLayout;
let file: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-fs-errors-'));
  readOnly = await mountReadOnly();
  const fixture = await buildFixtureLayout(join(work, 'fixture'));
  source = new OciLayout(fixture.dir, fixture.tag);
  file = join(work, 'a-file');
  await writeFile(file, 'not a directory');
});

afterAll(async () => {
  await readOnly?.unmount();
  await rm(work, { recursive: true, force: true });
});

async function failedCopyTo(dst: Target): Promise<unknown> {
  return copy(source, dst).catch((e: unknown) => e);
}

describe('a copy the file system refuses says why, with a code', () => {
  it('READ_ONLY for a dir: or oci: destination on a read-only file system', async () => {
    const dir = new ImageDirectory(join(readOnly.path, 'image'));
    expect(await failedCopyTo(dir)).toMatchObject({
      code: 'READ_ONLY',
      subject: dir.name,
      message: expect.stringMatching(
        new RegExp(
          `^cannot write ${dir.name}: the file system is read-only \\(${readOnly.path}/\\.image\\.concil-`,
        ),
      ),
    });
    const layout = new OciLayout(join(readOnly.path, 'layout'), 'v1');
    expect(await failedCopyTo(layout)).toMatchObject({
      code: 'READ_ONLY',
      message: `cannot write ${layout.name}: the file system is read-only (${join(readOnly.path, 'layout')}); choose a place on a writable file system`,
    });
    expect(await readdir(readOnly.path)).toEqual([]);
  });

  it('NOT_A_DIRECTORY for a file given as the destination, or as a directory on its path', async () => {
    for (const dst of [
      new ImageDirectory(file),
      new ImageDirectory(join(file, 'image')),
      new OciLayout(file, 'v1'),
      new OciLayout(join(file, 'layout'), 'v1'),
    ]) {
      expect(await failedCopyTo(dst)).toMatchObject({
        code: 'NOT_A_DIRECTORY',
        subject: dst.name,
        message: expect.stringMatching(
          new RegExp(
            `^cannot write ${dst.name}: a file stands where a directory must be \\(${file}.*\\); name a directory or a new path$`,
          ),
        ),
      });
    }
    expect(await readdir(work)).toEqual(['a-file', 'fixture']);
  });

  it('NOT_A_DIRECTORY for a file given as a source', async () => {
    await expect(
      copy(new ImageDirectory(file), new ImageDirectory(join(work, 'never'))),
    ).rejects.toMatchObject({
      code: 'NOT_A_DIRECTORY',
      message: `cannot read dir:${file}: a file stands where a directory must be (${join(file, 'manifest.json')}); name a directory or a new path`,
    });
  });

  it('READ_ONLY and NOT_A_DIRECTORY from writeFileAtomic, naming the file', async () => {
    const bytes = new TextEncoder().encode('content');
    await expect(writeFileAtomic(join(readOnly.path, 'out.tar'), bytes)).rejects.toMatchObject({
      code: 'READ_ONLY',
      subject: join(readOnly.path, 'out.tar'),
    });
    await expect(writeFileAtomic(join(file, 'out.tar'), bytes)).rejects.toMatchObject({
      code: 'NOT_A_DIRECTORY',
      message: expect.stringMatching(
        new RegExp(`^cannot write ${join(file, 'out.tar')}: a file stands where`),
      ),
    });
  });
});
