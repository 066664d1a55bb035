import { chmod, link, mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, zstdCompressSync } from 'node:zlib';
import { computeDigest } from '@concil/oci-spec';
import { buildFixtureLayout, buildTar, type FixtureLayout, gzipDeterministic } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copy } from './copy.js';
import { editImage } from './edit-image.js';
import { OciLayout } from './oci-layout.js';
import { blobPath, expectedFixtureTree, imageIn, run, unpackWithUmoci } from './testing/fixture-image.js';
import { tarTree } from './testing/layer-tree.js';

let work: string;
let fixture: FixtureLayout;
let app: string;
const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-add-layer-'));
  fixture = await buildFixtureLayout(join(work, 'fixture'));
  app = join(work, 'app');
  await mkdir(join(app, 'bin'), { recursive: true });
  await mkdir(join(app, 'etc', 'empty'), { recursive: true });
  await writeFile(join(app, 'bin', 'run'), '#!/bin/sh\necho hi\n');
  await chmod(join(app, 'bin', 'run'), 0o755);
  await writeFile(join(app, 'etc', 'app.conf'), 'a=1\n');
  await chmod(join(app, 'etc', 'app.conf'), 0o640);
  await link(join(app, 'etc', 'app.conf'), join(app, 'etc', 'same.conf'));
  await symlink('../etc/app.conf', join(app, 'bin', 'conf'));
  const when = new Date('2023-05-06T07:08:09Z');
  for (const path of ['bin/run', 'etc/app.conf', 'etc/empty', 'etc', 'bin', '.'])
    await utimes(join(app, path), when, when);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function addAndRead(title: string, path: string, convert?: 'none' | 'squashfs') {
  const dst = join(work, `out-${title}`);
  const edit = await editImage({ addLayers: [{ title, path }], ...(convert && { convert }) });
  const result = await copy(new OciLayout(fixture.dir, 'latest'), new OciLayout(dst, 'latest'), { edit });
  const image = await imageIn(dst, result.descriptor.digest);
  const layer = image.manifest.layers.at(-1)!;
  return { dst, image, layer, blob: await readFile(blobPath(dst, layer.digest)) };
}

describe('--add-layer', () => {
  it('adds a directory as a tar+gzip layer walked in order, with modes, owners, times, symlinks and hard links', async () => {
    const { dst, image, layer, blob } = await addAndRead('app', app);
    expect(image.manifest.layers).toHaveLength(3);
    expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect(layer.annotations).toEqual({ 'org.opencontainers.image.title': 'app' });
    const tar = gunzipSync(blob);
    expect(image.config.rootfs.diff_ids.at(-1)).toBe(computeDigest(tar));
    expect(image.config.history?.at(-1)).toEqual({ created_by: `concil copy --add-layer app=${app}` });
    const t = 1683356889;
    expect([...(await tarTree(tar))]).toEqual([
      ['bin', `directory 755 ${uid}:${gid} ${t}`],
      ['bin/conf', expect.stringMatching(new RegExp(`^symlink 777 ${uid}:${gid} \\d+ ../etc/app.conf$`))],
      ['bin/run', `file 755 ${uid}:${gid} ${t} ${computeDigest('#!/bin/sh\necho hi\n').slice(7)}`],
      ['etc', `directory 755 ${uid}:${gid} ${t}`],
      [
        'etc/app.conf',
        `file 640 ${uid}:${gid} ${t} ${computeDigest('a=1\n').slice(7)} links=etc/app.conf,etc/same.conf`,
      ],
      ['etc/empty', `directory 755 ${uid}:${gid} ${t}`],
      [
        'etc/same.conf',
        `file 640 ${uid}:${gid} ${t} ${computeDigest('a=1\n').slice(7)} links=etc/app.conf,etc/same.conf`,
      ],
    ]);
    const tree = await unpackWithUmoci(dst, 'latest', join(work, 'bundle-app'));
    const expected = expectedFixtureTree();
    expected.set('bin', 'directory');
    expected.set('bin/conf', 'symlink ../etc/app.conf');
    expected.set('bin/run', `file ${Buffer.from('#!/bin/sh\necho hi\n').toString('base64')}`);
    expected.set('etc', 'directory');
    expected.set('etc/app.conf', `file ${Buffer.from('a=1\n').toString('base64')}`);
    expected.set('etc/empty', 'directory');
    expected.set('etc/same.conf', `file ${Buffer.from('a=1\n').toString('base64')}`);
    expect(new Map([...tree].sort())).toEqual(new Map([...expected].sort()));
  });

  it('adds a tarball (tar, tar.gz, tar.zst, told by its magic) as a layer holding its entries', async () => {
    const tar = await buildTar([{ type: 'file', name: 'opt/added.txt', content: 'added\n' }]);
    const files = { tar, gz: gzipDeterministic(tar), zst: zstdCompressSync(tar) };
    for (const [kind, bytes] of Object.entries(files)) {
      const path = join(work, `layer.${kind}`);
      await writeFile(path, bytes);
      const { image, blob } = await addAndRead(`from-${kind}`, path);
      expect(gunzipSync(blob)).toEqual(tar);
      expect(image.config.rootfs.diff_ids.at(-1)).toBe(computeDigest(tar));
    }
  });

  it('adds a squashfs file: kept as it is with --squashfs, read as a tar otherwise', async () => {
    const squashfs = join(work, 'app.squashfs');
    await run('mksquashfs', [app, squashfs, '-quiet', '-no-progress']);
    const kept = await addAndRead('sq-kept', squashfs, 'squashfs');
    expect(kept.layer.mediaType).toBe('application/vnd.oci.image.layer.v1.squashfs');
    expect(kept.blob).toEqual(await readFile(squashfs));
    expect(kept.image.config.rootfs.diff_ids.at(-1)).toBe(kept.layer.digest);
    const asTar = await addAndRead('sq-tar', squashfs, 'none');
    expect(asTar.layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    const tree = await unpackWithUmoci(asTar.dst, 'latest', join(work, 'bundle-sq'));
    expect(tree.get('etc/same.conf')).toBe(`file ${Buffer.from('a=1\n').toString('base64')}`);
    expect(tree.get('bin/conf')).toBe('symlink ../etc/app.conf');
  });

  it('adds the layer to every platform of an index with --all, made once and shared', async () => {
    const multi = await buildFixtureLayout(join(work, 'multi'), {
      platforms: ['linux/amd64', 'linux/arm64'],
    });
    const dst = join(work, 'out-multi');
    const edit = await editImage({ addLayers: [{ title: 'app', path: app }] });
    const result = await copy(new OciLayout(multi.dir, 'latest'), new OciLayout(dst, 'latest'), {
      edit,
      all: true,
    });
    expect(result.layersTransformed).toBe(1);
    const index = JSON.parse(await readFile(blobPath(dst, result.descriptor.digest), 'utf8'));
    const tops = await Promise.all(
      index.manifests.map(
        async (entry: { digest: string }) => (await imageIn(dst, entry.digest)).manifest.layers,
      ),
    );
    expect(tops.map((layers) => layers.length)).toEqual([3, 3]);
    expect(tops[0]![2]).toEqual(tops[1]![2]);
    expect(index.manifests.map((entry: { platform: unknown }) => entry.platform)).toEqual(
      multi.images.map((image) => image.manifest.platform),
    );
  });

  it('refuses a path that is missing before anything is copied', async () => {
    const missing = join(work, 'no-such-dir');
    await expect(editImage({ addLayers: [{ title: 'x', path: missing }] })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      subject: missing,
      message: expect.stringContaining(missing),
    });
    const notALayer = join(work, 'notes.txt');
    await writeFile(notALayer, 'just text');
    await expect(editImage({ addLayers: [{ title: 'x', path: notALayer }] })).rejects.toMatchObject({
      code: 'LAYER_INVALID',
      subject: notALayer,
    });
  });
});
