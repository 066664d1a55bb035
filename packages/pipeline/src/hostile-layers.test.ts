import { lstat, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { copy, OciLayout } from '@concil/image';
import type { Target } from '@concil/oci-spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Bundle } from './bundle.js';
import { Extracted } from './extracted.js';
import { Mounts } from './mounts.js';
import {
  describeTree,
  type RawEntry,
  rawTar,
  temporaryDirectory,
  writeImage,
} from './testing/image-layout.js';

let work: string;
let outside: string;

beforeEach(async () => {
  work = await temporaryDirectory();
  outside = await temporaryDirectory('concil-outside-');
  await writeFile(join(outside, 'victim'), 'untouched\n');
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

/** Each hostile layer, and the entry the error must name. */
const hostile = (outside: string): { name: string; entries: RawEntry[]; entry: string }[] => [
  { name: 'a ../ entry', entries: [{ name: '../escaped', content: 'x' }], entry: '../escaped' },
  {
    name: 'a ../ inside a path',
    entries: [{ name: 'a/../../escaped', content: 'x' }],
    entry: 'a/../../escaped',
  },
  {
    name: 'an absolute path',
    entries: [{ name: `${outside}/victim`, content: 'x' }],
    entry: `${outside}/victim`,
  },
  {
    name: 'a symlink pointing out, then a file written through it',
    entries: [
      { name: 'evil', type: 'symlink', linkname: outside },
      { name: 'evil/victim', content: 'overwritten\n' },
    ],
    entry: 'evil/victim',
  },
  {
    name: 'a symlink pointing out, then a directory made through it',
    entries: [
      { name: 'evil', type: 'symlink', linkname: outside },
      { name: 'evil/made', type: 'directory' },
    ],
    entry: 'evil/made',
  },
  {
    name: 'a directory replaced by a symlink pointing out, then a file below it',
    entries: [
      { name: 'd/', type: 'directory' },
      { name: 'd', type: 'symlink', linkname: outside },
      { name: 'd/victim', content: 'overwritten\n' },
    ],
    entry: 'd/victim',
  },
  {
    name: 'a hard link to a file outside',
    entries: [{ name: 'stolen', type: 'link', linkname: '../../../../../../../../etc/passwd' }],
    entry: 'stolen',
  },
  {
    name: 'a hard link to an absolute path',
    entries: [{ name: 'stolen', type: 'link', linkname: join(outside, 'victim') }],
    entry: 'stolen',
  },
  {
    name: 'a hard link through a symlink pointing out',
    entries: [
      { name: 'evil', type: 'symlink', linkname: outside },
      { name: 'stolen', type: 'link', linkname: 'evil/victim' },
    ],
    entry: 'stolen',
  },
];

const sinks: [string, (path: string) => Target][] = [
  ['bundle:', (path) => new Bundle(path)],
  ['extracted:', (path) => new Extracted(path, 'hostile:latest')],
  ['mounts:', (path) => new Mounts(path)],
];

describe.each(sinks)('%s refuses hostile layers', (_, open) => {
  it.each(hostile('/outside').map((c, i) => [c.name, i] as const))('%s', async (_name, i) => {
    const { entries, entry } = hostile(outside)[i]!;
    const image = await writeImage(join(work, 'layout'), [
      await rawTar([{ name: 'ok', content: 'fine\n' }]),
      await rawTar(entries),
    ]);
    const destination = join(work, 'out');
    const error = await copy(new OciLayout(image.layout, 'latest'), open(destination)).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'LAYER_UNSAFE', subject: entry });
    expect((error as Error).message).toContain(JSON.stringify(entry));
    expect(await readdir(work)).toEqual(['layout']);
    expect(await readdir(outside)).toEqual(['victim']);
    expect((await lstat(join(outside, 'victim'))).nlink).toBe(1);
  });
});

describe.each(sinks)(
  '%s: a symlink pointing out in one layer, then entries below it in the next',
  (_, open) => {
    it('never writes or removes outside (the next layer replaces the link by a directory)', async () => {
      const image = await writeImage(join(work, 'layout'), [
        await rawTar([{ name: 'evil', type: 'symlink', linkname: outside }]),
        await rawTar([
          { name: 'evil/', type: 'directory' },
          { name: 'evil/.wh..wh..opq', content: '' },
          { name: 'evil/.wh.victim', content: '' },
          { name: 'evil/new', content: 'inside\n' },
        ]),
      ]);
      await copy(new OciLayout(image.layout, 'latest'), open(join(work, 'out')));
      expect(await readdir(outside)).toEqual(['victim']);
      expect(await readFile(join(outside, 'victim'), 'utf8')).toBe('untouched\n');
    });
  },
);

describe('extracted: a hostile image into a directory that holds other images', () => {
  it('fails naming the entry, and the directory is left as it was', async () => {
    const good = await writeImage(join(work, 'good'), [await rawTar([{ name: 'ok', content: 'fine\n' }])]);
    const dir = join(work, 'extracted');
    await copy(new OciLayout(good.layout, 'latest'), new Extracted(dir, 'good:1'));
    const before = await describeTree(dir);
    const bad = await writeImage(join(work, 'bad'), [
      await rawTar([{ name: 'ok', content: 'fine\n' }]),
      await rawTar([{ name: '../../escaped', content: 'x' }]),
    ]);
    await expect(
      copy(new OciLayout(bad.layout, 'latest'), new Extracted(dir, 'bad:1')),
    ).rejects.toMatchObject({
      code: 'LAYER_UNSAFE',
      subject: '../../escaped',
    });
    expect(await describeTree(dir)).toEqual(before);
  });
});
