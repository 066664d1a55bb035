import { createHash } from 'node:crypto';
import {
  chmod,
  lchown,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { computeDigest } from '@concil/oci-spec';
import { buildTar } from '@concil/testkit';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copy } from './copy.js';
import { editImage, type ImageEdits } from './edit-image.js';
import { OciLayout } from './oci-layout.js';
import { blobPath, imageIn, readAll, run } from './testing/fixture-image.js';
import { tarTree } from './testing/layer-tree.js';

let work: string;
/** An image of five layers: four umoci repacked (with its whiteouts), then one with an opaque directory. */
let layout: string;
let before: Map<string, string>;
const rootless = process.getuid?.() === 0 ? [] : ['--rootless'];

/** The root filesystem `umoci unpack` makes: path → type, mode, owner, mtime (not of directories), content. */
async function unpacked(image: string, tag: string): Promise<Map<string, string>> {
  const bundle = await mkdtemp(join(work, 'bundle-'));
  await rm(bundle, { recursive: true });
  await run('umoci', ['unpack', ...rootless, '--image', `${image}:${tag}`, bundle]);
  const tree = new Map<string, string>();
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = prefix ? `${prefix}/${name}` : name;
      const full = join(dir, name);
      const info = await lstat(full);
      const head = `${(info.mode & 0o7777).toString(8)} ${info.uid}:${info.gid}`;
      const time = Math.floor(info.mtimeMs / 1000);
      if (info.isDirectory()) {
        tree.set(path, `directory ${head}`);
        await walk(full, path);
      } else if (info.isSymbolicLink()) tree.set(path, `symlink ${head} ${time} ${await readlink(full)}`);
      else {
        const sha = createHash('sha256')
          .update(await readFile(full))
          .digest('hex');
        tree.set(path, `file ${head} ${time} ${sha}`);
      }
    }
  };
  await walk(join(bundle, 'rootfs'), '');
  await rm(bundle, { recursive: true, force: true });
  return tree;
}

/**
 * The tree of layer tars applied by hand, in the form `unpacked` gives: per layer, its whiteouts
 * first (they hide the layers below only), then its entries, a later one replacing an earlier
 * one and, unless both are directories, what was below it.
 */
async function byHand(tars: readonly Buffer[]): Promise<Map<string, string>> {
  const tree = new Map<string, string>();
  const removeBelow = (dir: string) => {
    for (const key of [...tree.keys()]) if (key.startsWith(`${dir}/`)) tree.delete(key);
  };
  for (const tar of tars) {
    const entries: { path: string; header: tarStream.Header; content: Buffer }[] = [];
    const extract = tarStream.extract();
    Readable.from([tar]).pipe(extract);
    for await (const entry of extract) {
      const content = await readAll(entry as AsyncIterable<Uint8Array>);
      const path = entry.header.name.replace(/^\.?\/+/, '').replace(/\/+$/, '');
      if (path && path !== '.') entries.push({ path, header: entry.header, content });
    }
    for (const { path } of entries) {
      const name = path.slice(path.lastIndexOf('/') + 1);
      const parent = path.slice(0, Math.max(0, path.lastIndexOf('/')));
      if (name === '.wh..wh..opq') removeBelow(parent);
      else if (name.startsWith('.wh.')) {
        const hidden = parent ? `${parent}/${name.slice(4)}` : name.slice(4);
        tree.delete(hidden);
        removeBelow(hidden);
      }
    }
    for (const { path, header: h, content } of entries) {
      if (path.slice(path.lastIndexOf('/') + 1).startsWith('.wh.')) continue;
      const head = `${(h.mode & 0o7777).toString(8)} ${h.uid}:${h.gid}`;
      const time = Math.floor(h.mtime.getTime() / 1000);
      const value =
        h.type === 'directory'
          ? `directory ${head}`
          : h.type === 'symlink'
            ? `symlink ${head} ${time} ${h.linkname}`
            : h.type === 'link'
              ? tree.get(h.linkname.replace(/^\.?\/+/, ''))!
              : `file ${head} ${time} ${createHash('sha256').update(content).digest('hex')}`;
      if (!(value.startsWith('directory') && tree.get(path)?.startsWith('directory'))) removeBelow(path);
      tree.set(path, value);
    }
  }
  return new Map([...tree].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** umoci 0.4.7 repacks against the image a bundle was unpacked from: one unpack per new layer. */
async function umociLayer(change: (rootfs: string) => Promise<void>): Promise<void> {
  const bundle = await mkdtemp(join(work, 'umoci-'));
  await rm(bundle, { recursive: true });
  await run('umoci', ['unpack', ...rootless, '--image', `${join(work, 'umoci')}:t`, bundle]);
  await change(join(bundle, 'rootfs'));
  await run('umoci', ['repack', '--image', `${join(work, 'umoci')}:t`, bundle]);
  await rm(bundle, { recursive: true, force: true });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-merge-'));
  const umoci = join(work, 'umoci');
  await run('umoci', ['init', '--layout', umoci]);
  await run('umoci', ['new', '--image', `${umoci}:t`]);
  await umociLayer(async (root) => {
    await mkdir(join(root, 'data', 'sub'), { recursive: true });
    await mkdir(join(root, 'gone', 'deep'), { recursive: true });
    await mkdir(join(root, 'keep'));
    await writeFile(join(root, 'data', 'old.txt'), 'old\n');
    await writeFile(join(root, 'data', 'sub', 's.txt'), 's\n');
    await writeFile(join(root, 'gone', 'deep', 'g'), 'g\n');
    await writeFile(join(root, 'keep', 'k.txt'), 'k\n');
    await writeFile(join(root, 'keep', 'secret'), 'x\n');
    await chmod(join(root, 'keep', 'secret'), 0o600);
    await symlink('keep/k.txt', join(root, 'link'));
  });
  await umociLayer(async (root) => {
    // a replaced directory (umoci writes a whiteout per child gone) and a removed tree
    await rm(join(root, 'data'), { recursive: true });
    await mkdir(join(root, 'data'));
    await writeFile(join(root, 'data', 'new.txt'), 'new\n');
    await rm(join(root, 'gone'), { recursive: true });
    if (rootless.length === 0) await lchown(join(root, 'keep', 'secret'), 1234, 5678);
    await mkdir(join(root, 'tmp', 'dir'), { recursive: true });
    await writeFile(join(root, 'tmp', 'scratch.txt'), 'scratch\n');
    await writeFile(join(root, 'tmp', 'dir', 'x'), 'x\n');
  });
  await umociLayer(async (root) => {
    // a path that comes back after its whiteout, a file replaced by a directory, a changed file
    await mkdir(join(root, 'gone'));
    await writeFile(join(root, 'gone', 'back.txt'), 'back\n');
    await rm(join(root, 'link'));
    await mkdir(join(root, 'link'));
    await writeFile(join(root, 'keep', 'k.txt'), 'k2\n');
    // what the layer below (in a merged range) added, gone again
    await rm(join(root, 'tmp', 'scratch.txt'));
    await rm(join(root, 'tmp', 'dir'), { recursive: true });
  });
  await umociLayer(async (root) => {
    await rm(join(root, 'keep', 'secret'));
    await writeFile(join(root, 'top.txt'), 'top\n');
    await writeFile(join(root, 'keep', 'l4.txt'), 'hidden by the opaque directory above\n');
  });
  // umoci writes whiteouts but no opaque directory: the fifth layer has one, `keep` emptied of what was below.
  const opaque = join(work, 'opaque.tar');
  await writeFile(
    opaque,
    await buildTar([
      { type: 'directory', name: 'keep' },
      { type: 'file', name: 'keep/.wh..wh..opq', content: '' },
      { type: 'file', name: 'keep/fresh.txt', content: 'fresh\n' },
    ]),
  );
  layout = join(work, 'layout');
  await copy(new OciLayout(umoci, 't'), new OciLayout(layout, 't'), {
    edit: await editImage({ addLayers: [{ title: 'opaque', path: opaque }] }),
  });
  before = await unpacked(layout, 't');
}, 120_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function edited(name: string, edits: ImageEdits) {
  const dst = join(work, name);
  const result = await copy(new OciLayout(layout, 't'), new OciLayout(dst, 't'), {
    edit: await editImage(edits),
  });
  const image = await imageIn(dst, result.descriptor.digest);
  const tars = await Promise.all(
    image.manifest.layers.map(async (layer) => gunzipSync(await readFile(blobPath(dst, layer.digest)))),
  );
  return { dst, image, tars };
}

const whiteoutsIn = async (tar: Buffer) =>
  [...(await tarTree(tar)).keys()].filter((path) => path.includes('.wh.')).sort();

describe('--merge-layers (layers made by umoci, with whiteouts and an opaque directory)', () => {
  it('the source image unpacks with umoci as its layers applied by hand', async () => {
    const source = await edited('source', {});
    expect(source.tars).toHaveLength(5);
    expect(await byHand(source.tars)).toEqual(before);
  });

  it('the source image unpacks as its layers say', () => {
    expect(before.get('keep/fresh.txt')).toMatch(/^file 644 0:0 /);
    expect(before.has('keep/k.txt')).toBe(false); // emptied by the opaque directory
    expect([...before.keys()].filter((path) => path.startsWith('data'))).toEqual(['data', 'data/new.txt']);
    expect(before.get('gone/back.txt')).toBeDefined();
    expect(before.has('gone/deep')).toBe(false);
    expect(before.get('link')).toMatch(/^directory/);
    expect([...before.keys()].filter((path) => path.startsWith('tmp'))).toEqual(['tmp']);
    expect(before.has('keep/l4.txt')).toBe(false);
  });

  it('merges a middle range into one layer that unpacks to the same tree, keeping whiteouts for the layers below', async () => {
    const { image, tars } = await edited('middle', { mergeLayers: ['%2..%4'] });
    expect(image.manifest.layers).toHaveLength(3);
    expect(image.config.rootfs.diff_ids).toEqual(tars.map((tar) => computeDigest(tar)));
    expect(await whiteoutsIn(tars[1]!)).toEqual([
      '.wh.gone',
      'data/.wh.old.txt',
      'data/.wh.sub',
      'keep/.wh.secret',
      // the merge cannot know that no layer below the range has these: kept, they hide nothing
      'tmp/.wh.dir',
      'tmp/.wh.scratch.txt',
    ]);
    expect(await unpacked(join(work, 'middle'), 't')).toEqual(before);
    expect(await byHand(tars)).toEqual(before);
  });

  it('merges a top range holding the opaque directory, which still hides the layers below', async () => {
    const { image, tars } = await edited('top', { mergeLayers: ['%4..'] });
    expect(image.manifest.layers).toHaveLength(4);
    expect(await whiteoutsIn(tars[3]!)).toEqual(['keep/.wh..wh..opq', 'keep/.wh.secret']);
    expect(await unpacked(join(work, 'top'), 't')).toEqual(before);
    expect(await byHand(tars)).toEqual(before);
  });

  it('merges every layer into one without whiteouts, the same tree again', async () => {
    const { image, tars } = await edited('all', { mergeLayers: ['..'] });
    expect(image.manifest.layers).toHaveLength(1);
    expect(await whiteoutsIn(tars[0]!)).toEqual([]);
    expect(image.config.history).toHaveLength(1);
    expect(await unpacked(join(work, 'all'), 't')).toEqual(before);
    expect(await byHand(tars)).toEqual(before);
  });

  it('removes layers by name: without the opaque layer the tree is that of the first four', async () => {
    const { image } = await edited('removed', { removeLayers: ['opaque'] });
    expect(image.manifest.layers).toHaveLength(4);
    const tree = await unpacked(join(work, 'removed'), 't');
    expect(tree.has('keep/fresh.txt')).toBe(false);
    expect(tree.get('keep/k.txt')).toMatch(/^file 644 0:0 /);
  });
});
