import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { type CreateSquashfsOptions, createSquashfs } from '../index.js';
import { listing, run, sqfsdiff, tar2sqfs } from './peers.js';

process.env.TZ = 'UTC';

/** Directory sizes depend on how a writer splits listings into runs; everything else must match. */
export function normaliseListing(lines: string[]): string[] {
  return lines.map((l) => (l.startsWith('d') ? l.replace(/^(\S+ \S+) \d+ /, '$1 - ') : l));
}

/**
 * Build our image and tar2sqfs's image of the same tar and check that the reference tools see the same
 * thing in both: `unsquashfs -lln`, `sqfsdiff` (contents, owners, permissions, timestamps), extraction
 * with `unsquashfs -d`, and `sqfs2tar`.
 */
export async function checkAgainstTar2sqfs(
  dir: string,
  name: string,
  tar: Buffer | string,
  options: CreateSquashfsOptions = {},
): Promise<{ ours: string; ref: string; tarPath: string }> {
  const tarPath = typeof tar === 'string' ? tar : join(dir, `${name}.tar`);
  if (typeof tar !== 'string') writeFileSync(tarPath, tar);
  const ours = join(dir, `${name}.ours.sqfs`);
  const ref = join(dir, `${name}.ref.sqfs`);
  await createSquashfs(createReadStream(tarPath), ours, options);
  await tar2sqfs(tarPath, ref, options.compressor ?? 'gzip', options.blockSize ?? 131072, options.level);

  expect(normaliseListing(await listing(ours))).toEqual(normaliseListing(await listing(ref)));
  const diff = await sqfsdiff(ref, ours, ['-T']);
  expect(diff.out).toBe('');
  expect(diff.code).toBe(0);

  const xOurs = join(dir, `${name}.x-ours`);
  const xRef = join(dir, `${name}.x-ref`);
  expect((await run('unsquashfs', ['-q', '-no-xattrs', '-d', xOurs, ours])).code).toBe(0);
  expect((await run('unsquashfs', ['-q', '-no-xattrs', '-d', xRef, ref])).code).toBe(0);
  const d = await run('diff', ['-r', '--no-dereference', xRef, xOurs]);
  // diff cannot compare special files; sqfsdiff and the listing already compared those.
  const differences = (d.stdout + d.stderr)
    .split('\n')
    .filter((l) => l !== '' && !/is a (fifo|character special file|block special file) while file/.test(l));
  expect(differences).toEqual([]);

  const back = await run('sh', ['-c', `sqfs2tar '${ours}' | tar -tf - | wc -l`]);
  expect(back.code).toBe(0);
  const refBack = await run('sh', ['-c', `sqfs2tar '${ref}' | tar -tf - | wc -l`]);
  expect(back.stdout).toBe(refBack.stdout);
  return { ours, ref, tarPath };
}

const TYPE_CHAR: Record<string, string> = {
  file: '-',
  directory: 'd',
  symlink: 'l',
  'character-device': 'c',
  'block-device': 'b',
  fifo: 'p',
};

function modeString(type: string, mode: number): string {
  const rwx = (bits: number, special: boolean, ch: string) =>
    `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-'}`;
  return (
    (TYPE_CHAR[type] ?? '?') +
    rwx((mode >> 6) & 7, (mode & 0o4000) !== 0, 's') +
    rwx((mode >> 3) & 7, (mode & 0o2000) !== 0, 's') +
    rwx(mode & 7, (mode & 0o1000) !== 0, 't')
  );
}

/** What `unsquashfs -lln` should print for each entry of a tar, as tar-stream (an independent parser) reads it. */
export async function expectedFromTar(tar: Buffer): Promise<Map<string, string>> {
  const { default: tarStream } = await import('tar-stream');
  const { Readable } = await import('node:stream');
  const extract = tarStream.extract();
  Readable.from([tar]).pipe(extract);
  const out = new Map<string, string>();
  for await (const e of extract) {
    const h = e.header;
    e.resume();
    const path = `/${h.name.replace(/^\.?\/+/, '').replace(/\/+$/, '')}`;
    if (h.type === 'link') {
      out.delete(path);
      continue;
    }
    const mtime = h.mtime!.toISOString().slice(0, 16).replace('T', ' ');
    const size =
      h.type === 'symlink'
        ? String(Buffer.byteLength(h.linkname ?? ''))
        : h.type === 'character-device' || h.type === 'block-device'
          ? `${h.devmajor}, ${h.devminor}`
          : h.type === 'directory'
            ? '-'
            : String(h.size);
    const target = h.type === 'symlink' ? ` -> ${h.linkname}` : '';
    out.set(
      path,
      `${modeString(h.type ?? 'file', h.mode ?? 0)} ${h.uid}/${h.gid} ${size} ${mtime} ${path}${target}`,
    );
  }
  return out;
}

export async function checkAgainstTar(image: string, tar: Buffer): Promise<void> {
  const lines = normaliseListing(await listing(image));
  const byPath = new Map(
    lines.map((l) => [l.replace(/^\S+ \S+ (\d+, )?\S+ \S+ \S+ /, '').replace(/ -> .*$/, ''), l]),
  );
  for (const [path, line] of await expectedFromTar(tar)) {
    expect(byPath.get(path)).toBe(line);
  }
}

/** The filter chain of every xz block in an image (found by the xz magic), with LZMA2's dictionary. */
export function xzBlocks(image: Buffer): { filters: number[]; dictSize: number }[] {
  const magic = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
  const blocks: { filters: number[]; dictSize: number }[] = [];
  for (let at = image.indexOf(magic); at >= 0; at = image.indexOf(magic, at + 1)) {
    let p = at + 13;
    const vli = () => {
      let n = 0;
      for (let shift = 1; ; shift *= 128) {
        const byte = image[p++]!;
        n += (byte & 0x7f) * shift;
        if (byte < 0x80) return n;
      }
    };
    const flags = image[p++]!;
    if (flags & 0x40) vli();
    if (flags & 0x80) vli();
    const filters: number[] = [];
    let props = 0;
    for (let i = 0; i <= (flags & 3); i++) {
      filters.push(vli());
      const size = vli();
      props = image[p]!;
      p += size;
    }
    blocks.push({ filters, dictSize: (2 | (props & 1)) * 2 ** (Math.floor(props / 2) + 11) });
  }
  return blocks;
}
