import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageDirectory } from './image-directory.js';

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-image-directory-'));
});

afterAll(() => rm(work, { recursive: true, force: true }));

describe('an image directory that is not there', () => {
  it('suggests docker:// for a bare word that is no path on disk', async () => {
    // Relative to the working directory, where nothing of this name exists.
    const word = `no-such-image-${process.pid}`;
    await expect(new ImageDirectory(word).resolve()).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `dir:${word}: no such directory; for the image ${word} in a registry, write docker://${word}`,
    });
  });

  it('names a missing path without the suggestion', async () => {
    const path = join(work, 'missing');
    await expect(new ImageDirectory(path).resolve()).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `dir:${path}: no such directory`,
      subject: path,
    });
  });

  it('says what is missing from a directory that is there', async () => {
    const path = join(work, 'empty');
    await mkdir(path);
    await expect(new ImageDirectory(path).resolve()).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `dir:${path} is not an image directory: it has no manifest.json`,
    });
  });
});
