import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { computeDigest, MediaType } from '@concil/oci-spec';
import { buildFixtureLayout, type FixtureLayout, gzipDeterministic } from '@concil/testkit';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copy } from './copy.js';
import { editImage } from './edit-image.js';
import { OciLayout } from './oci-layout.js';
import { readAll } from './testing/fixture-image.js';

interface RawEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  linkname?: string;
  content?: string;
}

/** A tar holding exactly these entries, in this order (no normalising: bad input on purpose). */
async function rawTar(entries: readonly RawEntry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const bytes = readAll(pack as unknown as Readable);
  for (const { name, type = 'file', linkname, content = '' } of entries) {
    const body = type === 'file' ? Buffer.from(content) : Buffer.alloc(0);
    pack.entry({ name, type, mode: 0o644, ...(linkname && { linkname }) }, body);
  }
  pack.finalize();
  return bytes;
}

let work: string;
let fixture: FixtureLayout;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-tar-safety-'));
  fixture = await buildFixtureLayout(join(work, 'fixture'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const unsafe: [string, RawEntry[], string][] = [
  ['climbs out with ..', [{ name: '../evil' }], 'the entry "../evil" leaves the tree with ..'],
  ['is absolute', [{ name: '/etc/passwd' }], 'the entry "/etc/passwd" is an absolute path'],
  [
    'has a symlink out of the tree',
    [{ name: 'etc/up', type: 'symlink', linkname: '../../x' }],
    'the symlink "etc/up" points at "../../x", out of the tree',
  ],
  [
    'writes through its own symlink',
    [
      { name: 'etc', type: 'symlink', linkname: '/etc' },
      { name: 'etc/passwd', content: 'root::0:0::/:/bin/sh' },
    ],
    'the entry "etc/passwd" is written through the symlink "etc"',
  ],
  [
    'has a hard link out of the tree',
    [{ name: 'passwd', type: 'link', linkname: '../../etc/passwd' }],
    'the hard link passwd → "../../etc/passwd" leaves the tree with ..',
  ],
];

describe('--add-layer of a tarball with paths out of its tree', () => {
  for (const [what, entries, problem] of unsafe) {
    it(`refuses a tarball that ${what}, naming the entry, before anything is copied`, async () => {
      const path = join(work, `${what.replaceAll(' ', '-')}.tar.gz`);
      await writeFile(path, gzipDeterministic(await rawTar(entries)));
      const error = await editImage({ addLayers: [{ title: 'bad', path }] }).catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'LAYER_INVALID',
        subject: path,
        message: expect.stringContaining(`--add-layer bad=${path}: ${problem}`),
      });
    });
  }

  it('takes symlinks to absolute paths and inside the tree: runtimes resolve them in the root', async () => {
    const path = join(work, 'fine.tar');
    await writeFile(
      path,
      await rawTar([
        { name: 'bin/', type: 'directory' },
        { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
        { name: 'bin/ls', type: 'symlink', linkname: '../bin/busybox' },
        { name: 'bin/busybox', content: 'binary' },
        { name: 'bin/ash', type: 'link', linkname: 'bin/busybox' },
      ]),
    );
    const edit = await editImage({ addLayers: [{ title: 'fine', path }] });
    const result = await copy(new OciLayout(fixture.dir, 'latest'), new OciLayout(join(work, 'fine'), 'v1'), {
      edit,
    });
    expect(result.layersTransformed).toBe(1);
  });
});

describe('--merge-layers of a layer with paths out of its tree', () => {
  /** An OCI layout of the fixture's base layer and then `top` (gzip), tagged `v1`. */
  async function imageWithTop(name: string, top: Buffer): Promise<string> {
    const dir = join(work, name);
    const source = new OciLayout(fixture.dir, 'latest');
    const layout = new OciLayout(dir, 'v1');
    const base = fixture.images[0]!.layers[0]!;
    await layout.push(base, await source.fetch(base));
    const gz = gzipDeterministic(top);
    const layer = { mediaType: MediaType.ociLayerGzip, digest: computeDigest(gz), size: gz.length };
    await layout.push(layer, Readable.from([gz]));
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [fixture.images[0]!.diffIds[0], computeDigest(top)] },
      }),
    );
    const configDesc = { mediaType: MediaType.ociConfig, digest: computeDigest(config), size: config.length };
    await layout.push(configDesc, Readable.from([config]));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: configDesc,
        layers: [base, layer],
      }),
    );
    const manifestDesc = {
      mediaType: MediaType.ociManifest,
      digest: computeDigest(manifest),
      size: manifest.length,
    };
    await layout.push(manifestDesc, Readable.from([manifest]));
    await layout.tag(manifestDesc, 'v1');
    await layout.commit?.();
    return dir;
  }

  it('refuses a layer with an entry that climbs out, naming it, and leaves the destination as it was', async () => {
    const top = await rawTar([{ name: 'usr/../../escape', content: 'x' }]);
    const src = await imageWithTop('merge-escape', top);
    const dst = join(work, 'merge-escape-dst');
    await copy(new OciLayout(fixture.dir, 'latest'), new OciLayout(dst, 'v0'));
    const index = await readFile(join(dst, 'index.json'));
    const blobs = await readdir(join(dst, 'blobs', 'sha256'));
    const edit = await editImage({ mergeLayers: ['%1..%2'] });
    const error = await copy(new OciLayout(src, 'v1'), new OciLayout(dst, 'v1'), { edit }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      code: 'LAYER_INVALID',
      subject: computeDigest(gzipDeterministic(top)),
      message: `layer ${computeDigest(gzipDeterministic(top))} cannot be merged: the entry "usr/../../escape" leaves the tree with ..; nothing was written`,
    });
    expect(await readFile(join(dst, 'index.json'))).toEqual(index);
    expect((await readdir(join(dst, 'blobs', 'sha256'))).sort()).toEqual(blobs.sort());
  });

  it('refuses a layer with an absolute entry', async () => {
    const top = await rawTar([{ name: '/etc/shadow', content: 'x' }]);
    const src = await imageWithTop('merge-absolute', top);
    const dst = join(work, 'merge-absolute-dst');
    const edit = await editImage({ mergeLayers: ['%1..%2'] });
    const error = await copy(new OciLayout(src, 'v1'), new OciLayout(dst, 'v1'), { edit }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      code: 'LAYER_INVALID',
      message: expect.stringContaining('the entry "/etc/shadow" is an absolute path'),
    });
    await expect(stat(dst)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
