import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeDigest } from '@concil/oci-spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TarArchive } from './tar-archive.js';
import { readAll, run } from './testing/fixture-image.js';

let work: string;
const longName = `${'d'.repeat(120)}/${'f'.repeat(150)}.bin`;
const contents = {
  'small.txt': Buffer.from('hello\n'),
  empty: Buffer.alloc(0),
  'blobs/sha256/big': randomBytes(3 * 1024 * 1024 + 7),
  [longName]: randomBytes(1000),
};

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-tar-archive-'));
  const tree = join(work, 'tree');
  for (const [name, bytes] of Object.entries(contents)) {
    await mkdir(join(tree, name, '..'), { recursive: true });
    await writeFile(join(tree, name), bytes);
  }
  await mkdir(join(tree, 'legacy'));
  await symlink('../blobs/sha256/big', join(tree, 'legacy', 'layer.tar'));
  await symlink('../../outside', join(tree, 'legacy', 'escape'));
  await link(join(tree, 'small.txt'), join(tree, 'hard.txt'));
}, 60_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('TarArchive', () => {
  // GNU tar writes long names as pax records or GNU long-name entries: offsets must account for both.
  for (const format of ['pax', 'gnu', 'ustar'] as const) {
    it(`reads every member of a GNU tar ${format} archive by offset, links followed inside it`, async () => {
      const file = join(work, `${format}.tar`);
      const members = format === 'ustar' ? ['small.txt', 'empty', 'blobs', 'legacy', 'hard.txt'] : ['.'];
      await run('tar', ['-C', join(work, 'tree'), `--format=${format}`, '-cf', file, ...members]);
      const archive = await TarArchive.open(file, `test:${format}`);
      for (const [name, bytes] of Object.entries(contents)) {
        if (format === 'ustar' && name === longName) continue;
        expect(archive.find(name)?.size).toBe(bytes.length);
        expect(computeDigest(await readAll(archive.read(name)))).toBe(computeDigest(bytes));
      }
      expect(computeDigest(await readAll(archive.read('legacy/layer.tar')))).toBe(
        computeDigest(contents['blobs/sha256/big']!),
      );
      expect(await archive.readBytes('hard.txt')).toEqual(contents['small.txt']);
      expect(archive.find('legacy/escape')).toBeUndefined();
      expect(archive.find('blobs')).toBeUndefined();
      expect(() => archive.read('missing')).toThrow(
        expect.objectContaining({
          code: 'NOT_FOUND',
          message: `test:${format}: the archive holds no file missing`,
        }),
      );
    });
  }

  it('refuses an archive with an absolute entry path', async () => {
    const file = join(work, 'absolute.tar');
    await run('tar', ['-C', join(work, 'tree'), '-P', '-cf', file, join(work, 'tree', 'small.txt')]);
    await expect(TarArchive.open(file, 'test:absolute')).rejects.toMatchObject({
      code: 'LAYOUT_INVALID',
      message: expect.stringContaining(
        `has an entry "${join(work, 'tree', 'small.txt')}" that points outside it`,
      ),
    });
  });

  it('refuses a compressed archive, and a file that is not a tar', async () => {
    const gz = join(work, 'compressed.tar.gz');
    await run('tar', ['-C', join(work, 'tree'), '-czf', gz, 'small.txt']);
    await expect(TarArchive.open(gz, 'test:gz')).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    const text = join(work, 'text');
    await writeFile(text, 'not a tar archive at all'.repeat(40));
    await expect(TarArchive.open(text, 'test:text')).rejects.toMatchObject({
      code: 'LAYOUT_INVALID',
      message: expect.stringContaining(`test:text: ${text} is not a readable tar archive`),
    });
  });

  it('spools a tar stream read once and reads its members in any order, leaving no file behind', async () => {
    const file = join(work, 'streamed.tar');
    await run('tar', ['-C', join(work, 'tree'), '-cf', file, '.']);
    const spoolDirectory = await mkdtemp(join(work, 'spool-'));
    const archive = await TarArchive.spool(createReadStream(file), 'test:stream', spoolDirectory);
    expect(await readdir(spoolDirectory)).toEqual([]);
    for (const name of Object.keys(contents).reverse()) {
      expect(computeDigest(await readAll(archive.read(name)))).toBe(computeDigest(contents[name]!));
    }
    expect(computeDigest(await readAll(archive.read('legacy/layer.tar')))).toBe(
      computeDigest(contents['blobs/sha256/big']!),
    );
    expect(await archive.head('small.txt', 4)).toEqual(Buffer.from('hell'));
    await archive.close();
  });

  it('refuses a spooled stream that is not a tar', async () => {
    const text = join(work, 'streamed-text');
    await writeFile(text, 'not a tar archive at all'.repeat(40));
    await expect(TarArchive.spool(createReadStream(text), 'test:stream')).rejects.toMatchObject({
      code: 'LAYOUT_INVALID',
      message: expect.stringContaining('test:stream: the stream is not a readable tar archive'),
    });
  });
});
