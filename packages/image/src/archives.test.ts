import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  computeDigest,
  digestHex,
  encodeManifest,
  type ImageConfig,
  type ImageManifest,
  MediaType,
} from '@concil/oci-spec';
import {
  buildFixtureLayout,
  type FixtureLayout,
  pushFixture,
  startRegistry,
  type TestRegistry,
} from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesStream } from './bytes-stream.js';
import { copy } from './copy.js';
import { ImageDirectory } from './image-directory.js';
import { OciLayout } from './oci-layout.js';
import { openTarget } from './open-target.js';
import { TarArchive } from './tar-archive.js';
import { type PackEntry, writeTarFile } from './tar-pack.js';
import { parseTargetSpec } from './target-spec.js';
import { blobPath, expectedFixtureTree, run, unpackWithUmoci } from './testing/fixture-image.js';

let registry: TestRegistry;
let work: string;
let fixture: FixtureLayout;
/** What skopeo wrote from the registry image. */
let skopeoDockerArchive: string;
let skopeoOciArchive: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-archives-'));
  registry = await startRegistry();
  fixture = await buildFixtureLayout(join(work, 'fixture'));
  const image = `docker://${registry.host}/fixture/app:1`;
  await pushFixture(fixture.dir, image, { format: 'v2s2' });
  skopeoDockerArchive = join(work, 'skopeo-docker.tar');
  skopeoOciArchive = join(work, 'skopeo-oci.tar');
  const from = ['--insecure-policy', 'copy', '-q', '--src-tls-verify=false', image];
  await run('skopeo', [...from, `docker-archive:${skopeoDockerArchive}:fixture/app:1`]);
  await run('skopeo', [...from, `oci-archive:${skopeoOciArchive}:v1`]);
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

const fixtureImage = () => fixture.images[0]!;

async function skopeo(...args: string[]): Promise<string> {
  return (await run('skopeo', ['--insecure-policy', ...args], { maxBuffer: 16 << 20 })).stdout;
}

async function imageInDirectory(dir: string): Promise<{ manifest: ImageManifest; config: ImageConfig }> {
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ImageManifest;
  const config = JSON.parse(
    await readFile(join(dir, digestHex(manifest.config.digest)), 'utf8'),
  ) as ImageConfig;
  return { manifest, config };
}

/** The members of a tar file, name → bytes (small test archives only). */
async function members(file: string): Promise<Map<string, Buffer>> {
  const archive = await TarArchive.open(file, file);
  const out = new Map<string, Buffer>();
  for (const name of archive.names()) {
    if (archive.find(name)) out.set(name, await archive.readBytes(name));
  }
  return out;
}

/** The fixture image's uncompressed layers and config, to build archives by hand. */
async function fixtureParts(): Promise<{ config: Buffer; tars: Buffer[] }> {
  const image = fixtureImage();
  const config = await readFile(blobPath(fixture.dir, image.config.digest));
  const tars = await Promise.all(
    image.layers.map(async (layer) => gunzipSync(await readFile(blobPath(fixture.dir, layer.digest)))),
  );
  return { config, tars };
}

/**
 * A docker save archive in the 1.2 layout (`repositories`, `<id>/layer.tar`, `<id>/json`,
 * `<id>/VERSION`, `manifest.json`), made by hand; `images` name each image's layers and config.
 */
async function writeV12Archive(
  file: string,
  images: { repoTag: string; config: Buffer; tars: Buffer[]; layerNames?: (string | undefined)[] }[],
  extra: PackEntry[] = [],
): Promise<void> {
  const entries: PackEntry[] = [];
  const manifest = [];
  const repositories: Record<string, Record<string, string>> = {};
  for (const image of images) {
    const configName = `${digestHex(computeDigest(image.config))}.json`;
    entries.push({ name: configName, content: image.config });
    const layers: string[] = [];
    for (const [i, tar] of image.tars.entries()) {
      const id = digestHex(computeDigest(`${image.repoTag} ${i}`));
      entries.push({ name: `${id}/`, type: 'directory' });
      entries.push({ name: `${id}/VERSION`, content: Buffer.from('1.0') });
      entries.push({ name: `${id}/json`, content: Buffer.from(JSON.stringify({ id })) });
      entries.push({ name: `${id}/layer.tar`, content: tar });
      layers.push(image.layerNames?.[i] ?? `${id}/layer.tar`);
    }
    manifest.push({ Config: configName, RepoTags: [image.repoTag], Layers: layers });
    const [name, tag] = image.repoTag.split(':') as [string, string];
    repositories[name] = { [tag]: layers.at(-1)!.split('/')[0]! };
  }
  entries.push({ name: 'repositories', content: Buffer.from(JSON.stringify(repositories)) });
  entries.push({ name: 'manifest.json', content: Buffer.from(JSON.stringify(manifest)) });
  await writeTarFile(file, [...entries, ...extra]);
}

/** The names in a directory, to show a failed copy left nothing beside its destination. */
async function listing(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

describe('archive locations', () => {
  it('parses oci-archive:FILE[:tag] and docker-archive:FILE[:name:tag] as skopeo does', () => {
    expect(parseTargetSpec('oci-archive:/a/b.tar')).toEqual({ kind: 'oci-archive', path: '/a/b.tar' });
    expect(parseTargetSpec('oci-archive:/a/b.tar:v1')).toEqual({
      kind: 'oci-archive',
      path: '/a/b.tar',
      reference: 'v1',
    });
    expect(parseTargetSpec('docker-archive:b.tar')).toEqual({ kind: 'docker-archive', path: 'b.tar' });
    expect(parseTargetSpec('docker-archive:b.tar:host:5000/app:v1')).toEqual({
      kind: 'docker-archive',
      path: 'b.tar',
      reference: 'host:5000/app:v1',
    });
    expect(() => parseTargetSpec('docker-archive:')).toThrow(/names no path or tag/);
  });
});

describe('reading what skopeo writes', () => {
  it('reads a docker-archive skopeo wrote from a registry image: uncompressed layers, the diff_ids', async () => {
    const dir = join(work, 'from-skopeo-docker');
    const result = await copy(
      openTarget(`docker-archive:${skopeoDockerArchive}:fixture/app:1`),
      new ImageDirectory(dir),
    );
    const { manifest, config } = await imageInDirectory(dir);
    expect(result.descriptor.digest).toBe(computeDigest(await readFile(join(dir, 'manifest.json'))));
    expect(manifest.mediaType).toBe(MediaType.dockerManifest);
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([
      MediaType.dockerLayerTar,
      MediaType.dockerLayerTar,
    ]);
    expect(manifest.layers.map((l) => l.digest)).toEqual(fixtureImage().diffIds);
    expect(config.rootfs.diff_ids).toEqual(fixtureImage().diffIds);
    expect(manifest.config.digest).toBe(fixtureImage().config.digest);
    const { tars } = await fixtureParts();
    for (const [i, layer] of manifest.layers.entries()) {
      expect(await readFile(join(dir, digestHex(layer.digest)))).toEqual(tars[i]);
    }
    // skopeo agrees on the layers it reads from the same archive.
    const inspected = JSON.parse(await skopeo('inspect', `docker-archive:${skopeoDockerArchive}`));
    expect(inspected.Layers).toEqual(fixtureImage().diffIds);
  });

  it('reads an oci-archive skopeo wrote from a registry image, layers byte for byte', async () => {
    const dir = join(work, 'from-skopeo-oci');
    await copy(openTarget(`oci-archive:${skopeoOciArchive}:v1`), new ImageDirectory(dir));
    const { manifest, config } = await imageInDirectory(dir);
    expect(manifest.layers.map((l) => l.digest)).toEqual(fixtureImage().layers.map((l) => l.digest));
    expect(config.rootfs.diff_ids).toEqual(fixtureImage().diffIds);
    const inspected = JSON.parse(await skopeo('inspect', `oci-archive:${skopeoOciArchive}:v1`));
    expect(inspected.Digest).toBe(computeDigest(await readFile(join(dir, 'manifest.json'))));
  });
});

describe('writing archives skopeo reads', () => {
  it('writes an oci-archive that skopeo inspects and copies, and umoci unpacks', async () => {
    const file = join(work, 'ours-oci.tar');
    const result = await copy(new OciLayout(fixture.dir, fixture.tag), openTarget(`oci-archive:${file}:v2`));
    expect(result.descriptor.digest).toBe(fixture.root.digest);
    const inspected = JSON.parse(await skopeo('inspect', `oci-archive:${file}:v2`));
    expect(inspected.Digest).toBe(fixture.root.digest);
    expect(inspected.Layers).toEqual(fixtureImage().layers.map((l) => l.digest));
    const layout = join(work, 'ours-oci-layout');
    await skopeo('copy', '-q', `oci-archive:${file}:v2`, `oci:${layout}:t`);
    expect(await unpackWithUmoci(layout, 't', join(work, 'bundle-oci'))).toEqual(expectedFixtureTree());
    // And we read it back: the same image.
    const back = await copy(
      openTarget(`oci-archive:${file}:v2`),
      new ImageDirectory(join(work, 'ours-oci-back')),
    );
    expect(back.descriptor.digest).toBe(fixture.root.digest);
  });

  it('writes a docker-archive, its layers decompressed, that skopeo inspects and copies', async () => {
    const file = join(work, 'ours-docker.tar');
    await copy(new OciLayout(fixture.dir, fixture.tag), openTarget(`docker-archive:${file}:example/app:v1`));
    const written = await members(file);
    const [entry, ...others] = JSON.parse(written.get('manifest.json')!.toString());
    expect(others).toEqual([]);
    expect(entry.RepoTags).toEqual(['example/app:v1']);
    expect(entry.Config).toBe(`${digestHex(fixtureImage().config.digest)}.json`);
    const { tars } = await fixtureParts();
    expect(entry.Layers.map((name: string) => written.get(name))).toEqual(tars);
    const top = entry.Layers.at(-1).split('/')[0];
    expect(JSON.parse(written.get('repositories')!.toString())).toEqual({ 'example/app': { v1: top } });

    const inspected = JSON.parse(await skopeo('inspect', `docker-archive:${file}:example/app:v1`));
    expect(inspected.Layers).toEqual(fixtureImage().diffIds);
    expect(inspected.RepoTags).toEqual([]);
    const layout = join(work, 'ours-docker-layout');
    await skopeo('copy', '-q', `docker-archive:${file}`, `oci:${layout}:t`);
    expect(await unpackWithUmoci(layout, 't', join(work, 'bundle-docker'))).toEqual(expectedFixtureTree());
    // And we read it back: the config is the same, the layers are the tars.
    const dir = join(work, 'ours-docker-back');
    await copy(openTarget(`docker-archive:${file}:example/app:v1`), new ImageDirectory(dir));
    const { manifest } = await imageInDirectory(dir);
    expect(manifest.config.digest).toBe(fixtureImage().config.digest);
    expect(manifest.layers.map((l) => l.digest)).toEqual(fixtureImage().diffIds);
  });
});

describe('docker save archives in the older layout', () => {
  it('reads a v1.2 archive made by hand, as skopeo does', async () => {
    const { config, tars } = await fixtureParts();
    const file = join(work, 'v12.tar');
    await writeV12Archive(file, [{ repoTag: 'old/app:1', config, tars }]);
    const dir = join(work, 'from-v12');
    await copy(openTarget(`docker-archive:${file}:old/app:1`), new ImageDirectory(dir));
    const { manifest } = await imageInDirectory(dir);
    expect(manifest.config.digest).toBe(fixtureImage().config.digest);
    expect(manifest.layers.map((l) => l.digest)).toEqual(fixtureImage().diffIds);
    const inspected = JSON.parse(await skopeo('inspect', `docker-archive:${file}`));
    expect(inspected.Layers).toEqual(manifest.layers.map((l) => l.digest));
  });

  it('reads one image by name out of an archive holding two, and lists the names otherwise', async () => {
    const { config, tars } = await fixtureParts();
    const other = JSON.parse(config.toString());
    other.config.Labels = { which: 'second' };
    const secondConfig = Buffer.from(JSON.stringify(other));
    const file = join(work, 'two.tar');
    await writeV12Archive(file, [
      { repoTag: 'first/app:1', config, tars },
      { repoTag: 'second/app:2', config: secondConfig, tars },
    ]);
    const dir = join(work, 'from-two');
    await copy(openTarget(`docker-archive:${file}:second/app:2`), new ImageDirectory(dir));
    expect((await imageInDirectory(dir)).manifest.config.digest).toBe(computeDigest(secondConfig));

    await expect(
      copy(openTarget(`docker-archive:${file}`), new ImageDirectory(join(work, 'x'))),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('holds 2 images (first/app:1, second/app:2)'),
    });
    await expect(
      copy(openTarget(`docker-archive:${file}:third/app:3`), new ImageDirectory(join(work, 'x'))),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining(
        'no image named "third/app:3" in the archive (it holds: first/app:1, second/app:2)',
      ),
    });
  });
});

describe('docker save archives in the newer layout', () => {
  it('reads layers and config kept as blobs/sha256/<hex>, as docker 25 writes them', async () => {
    const { config, tars } = await fixtureParts();
    const blob = (bytes: Buffer) => `blobs/sha256/${digestHex(computeDigest(bytes))}`;
    const manifest = [{ Config: blob(config), RepoTags: ['new/app:latest'], Layers: tars.map(blob) }];
    const file = join(work, 'newer.tar');
    await writeTarFile(file, [
      { name: 'blobs/', type: 'directory' },
      { name: 'blobs/sha256/', type: 'directory' },
      ...[config, ...tars].map((bytes) => ({ name: blob(bytes), content: bytes })),
      { name: 'oci-layout', content: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
      { name: 'manifest.json', content: Buffer.from(JSON.stringify(manifest)) },
    ]);
    const dir = join(work, 'from-newer');
    // `new/app` names `new/app:latest`, as in docker.
    await copy(openTarget(`docker-archive:${file}:new/app`), new ImageDirectory(dir));
    const { manifest: copied } = await imageInDirectory(dir);
    expect(copied.config.digest).toBe(fixtureImage().config.digest);
    expect(copied.layers.map((l) => l.digest)).toEqual(fixtureImage().diffIds);
  });

  it('reads gzip layers kept as pulled, as docker with the containerd image store saves them', async () => {
    const image = fixtureImage();
    const config = await readFile(blobPath(fixture.dir, image.config.digest));
    const gzips = await Promise.all(image.layers.map((l) => readFile(blobPath(fixture.dir, l.digest))));
    const blob = (bytes: Buffer) => `blobs/sha256/${digestHex(computeDigest(bytes))}`;
    const manifest = [{ Config: blob(config), RepoTags: ['pulled/app:1'], Layers: gzips.map(blob) }];
    const file = join(work, 'containerd.tar');
    await writeTarFile(file, [
      ...[config, ...gzips].map((bytes) => ({ name: blob(bytes), content: bytes })),
      { name: 'manifest.json', content: Buffer.from(JSON.stringify(manifest)) },
    ]);
    const dir = join(work, 'from-containerd');
    await copy(openTarget(`docker-archive:${file}`), new ImageDirectory(dir));
    const { manifest: copied } = await imageInDirectory(dir);
    expect(copied.layers.map((l) => [l.mediaType, l.digest])).toEqual(
      image.layers.map((l) => [MediaType.dockerLayerGzip, l.digest]),
    );
    // Written as a docker archive again, they are decompressed, each checked against its diff_id.
    const again = join(work, 'containerd-again.tar');
    await copy(openTarget(`docker-archive:${file}`), openTarget(`docker-archive:${again}:pulled/app:1`));
    const inspected = JSON.parse(await skopeo('inspect', `docker-archive:${again}`));
    expect(inspected.Layers).toEqual(image.diffIds);
  });
});

describe('bad archives: a clear error, the destination untouched', () => {
  /** A destination archive written before, whose bytes must survive a failed copy into it. */
  async function existingDestination(name: string): Promise<{ file: string; before: string }> {
    const file = join(work, 'bad', name);
    await mkdir(join(work, 'bad'), { recursive: true });
    await copy(new OciLayout(fixture.dir, fixture.tag), openTarget(`docker-archive:${file}:kept/app:1`));
    return { file, before: computeDigest(await readFile(file)) };
  }

  it('refuses an archive whose manifest.json names a missing layer', async () => {
    const { config, tars } = await fixtureParts();
    const source = join(work, 'missing-layer.tar');
    await writeV12Archive(source, [
      { repoTag: 'bad/app:1', config, tars, layerNames: [undefined, 'nowhere/layer.tar'] },
    ]);
    const { file, before } = await existingDestination('missing-layer-dst.tar');
    const around = await listing(join(work, 'bad'));
    await expect(
      copy(openTarget(`docker-archive:${source}`), openTarget(`docker-archive:${file}:x:1`)),
    ).rejects.toMatchObject({
      code: 'LAYER_INVALID',
      message: expect.stringContaining('names layer 2, nowhere/layer.tar, which the archive does not hold'),
    });
    expect(computeDigest(await readFile(file))).toBe(before);
    expect(await listing(join(work, 'bad'))).toEqual(around);
  });

  it('refuses a layer whose bytes do not match its diff_id, naming the layer', async () => {
    const { config, tars } = await fixtureParts();
    const source = join(work, 'lying-layer.tar');
    const swapped = [tars[0]!, tars[0]!];
    await writeV12Archive(source, [{ repoTag: 'bad/app:1', config, tars: swapped }]);
    const { file, before } = await existingDestination('lying-layer-dst.tar');
    const around = await listing(join(work, 'bad'));
    for (const destination of [`docker-archive:${file}:x:1`, `oci-archive:${file}`]) {
      const error = await copy(openTarget(`docker-archive:${source}`), openTarget(destination)).catch(
        (e) => e,
      );
      expect(error).toMatchObject({ code: 'DIFF_ID_MISMATCH' });
      expect(error.message).toMatch(
        /layer 2, [0-9a-f]{64}\/layer\.tar, has digest sha256:[0-9a-f]{64}, but the image config says/,
      );
      expect(computeDigest(await readFile(file))).toBe(before);
      expect(await listing(join(work, 'bad'))).toEqual(around);
    }
  });

  it('writes no docker-archive for an image whose config diff_ids do not match its gzip layers', async () => {
    const image = fixtureImage();
    const layout = new OciLayout(join(work, 'lying-config'), 'v1');
    const push = async (mediaType: string, bytes: Uint8Array) => {
      const desc = { mediaType, digest: computeDigest(bytes), size: bytes.byteLength };
      await layout.push(desc, bytesStream(bytes));
      return desc;
    };
    const layers = await Promise.all(
      image.layers.map(async (l) => push(l.mediaType, await readFile(blobPath(fixture.dir, l.digest)))),
    );
    const config = JSON.parse((await readFile(blobPath(fixture.dir, image.config.digest))).toString());
    config.rootfs.diff_ids = [...image.diffIds].reverse();
    const configDesc = await push(MediaType.ociConfig, Buffer.from(JSON.stringify(config)));
    const manifest = encodeManifest(
      { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers },
      MediaType.ociManifest,
    );
    await push(MediaType.ociManifest, manifest.bytes);
    await layout.tag(manifest.descriptor);

    const { file, before } = await existingDestination('lying-config-dst.tar');
    const around = await listing(join(work, 'bad'));
    await expect(copy(layout, openTarget(`docker-archive:${file}:x:1`))).rejects.toMatchObject({
      code: 'DIFF_ID_MISMATCH',
      message: expect.stringContaining(
        `layer ${image.layers[0]!.digest} unpacks to a tar with digest ${image.diffIds[0]}`,
      ),
    });
    expect(computeDigest(await readFile(file))).toBe(before);
    expect(await listing(join(work, 'bad'))).toEqual(around);
  });

  it('refuses an archive with an entry path climbing out with ../', async () => {
    const { config, tars } = await fixtureParts();
    const source = join(work, 'escaping.tar');
    await writeV12Archive(
      source,
      [{ repoTag: 'bad/app:1', config, tars }],
      [{ name: '../escaped', content: Buffer.from('x') }],
    );
    const { file, before } = await existingDestination('escaping-dst.tar');
    await expect(
      copy(openTarget(`docker-archive:${source}`), openTarget(`docker-archive:${file}`)),
    ).rejects.toMatchObject({
      code: 'LAYOUT_INVALID',
      message: expect.stringContaining('has an entry "../escaped" that points outside it'),
    });
    expect(computeDigest(await readFile(file))).toBe(before);
  });
});
