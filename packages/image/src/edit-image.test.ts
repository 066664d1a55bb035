import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeDigest, encodeManifest, type ImageManifest, MediaType } from '@concil/oci-spec';
import { buildFixtureLayout, FIXTURE_CONTAINER_CONFIG, type FixtureLayout } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommand, parsePairs } from './config-edit.js';
import { copy } from './copy.js';
import { editImage, type ImageEdits } from './edit-image.js';
import { ImageDirectory } from './image-directory.js';
import { OciLayout } from './oci-layout.js';
import { example } from './readme-edit.example.js';
import { blobPath, expectedFixtureTree, imageIn, run, unpackWithUmoci } from './testing/fixture-image.js';

let work: string;
let fixture: FixtureLayout;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-edit-image-'));
  fixture = await buildFixtureLayout(join(work, 'fixture'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function editTo(name: string, edits: ImageEdits, src = fixture.dir) {
  const dst = join(work, name);
  const result = await copy(new OciLayout(src, 'latest'), new OciLayout(dst, 'latest'), {
    edit: await editImage(edits),
  });
  return { dst, result };
}

const skopeoJson = async (...args: string[]) =>
  JSON.parse((await run('skopeo', ['inspect', ...args])).stdout);

describe('config edits', () => {
  it('sets user, env, volumes, entrypoint, cmd, working dir and labels, as skopeo reads them, keeping every other field', async () => {
    const { dst, result } = await editTo('config', {
      config: {
        user: '0:0',
        env: ['FIXTURE=edited', 'GREETING', 'NEW=1'],
        volumes: ['/cache'],
        entrypoint: parseCommand('["/bin/app", "--serve"]'),
        cmd: parseCommand('echo $HOME'),
        workingDir: '/app',
        labels: { 'org.example.edited': 'yes' },
      },
    });
    const config = await skopeoJson('--config', `oci:${dst}:latest`);
    expect(config.config).toEqual({
      ...FIXTURE_CONTAINER_CONFIG,
      User: '0:0',
      Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'FIXTURE=edited', 'NEW=1'],
      Volumes: { '/data': {}, '/cache': {} },
      Entrypoint: ['/bin/app', '--serve'],
      Cmd: ['/bin/sh', '-c', 'echo $HOME'],
      WorkingDir: '/app',
      Labels: { ...FIXTURE_CONTAINER_CONFIG.Labels, 'org.example.edited': 'yes' },
    });
    const source = await imageIn(fixture.dir, fixture.root.digest);
    const edited = await imageIn(dst, result.descriptor.digest);
    expect({ ...edited.config, config: undefined }).toEqual({ ...source.config, config: undefined });
    expect(edited.manifest.layers).toEqual(source.manifest.layers); // layers untouched, not re-encoded
    expect(result.layersTransformed).toBe(0);
  });

  it('sets manifest annotations and writes the format asked (v2s2), or refuses annotations in v2s2', async () => {
    const annotated = await editTo('annotated', { annotations: { 'org.example.note': 'edited' } });
    const raw = await skopeoJson('--raw', `oci:${annotated.dst}:latest`);
    expect(raw.annotations).toEqual({
      'org.opencontainers.image.created': '2024-01-01T00:00:00.000Z',
      'org.example.note': 'edited',
    });

    // An OCI layout holds OCI manifests only: v2s2 is written to an image directory.
    await expect(editTo('v2s2-layout', { format: 'docker' })).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    const v2s2 = join(work, 'v2s2');
    await copy(new OciLayout(fixture.dir, 'latest'), new ImageDirectory(v2s2), {
      edit: await editImage({ format: 'docker' }),
    });
    const manifest = JSON.parse(await readFile(join(v2s2, 'manifest.json'), 'utf8'));
    expect(manifest.mediaType).toBe(MediaType.dockerManifest);
    expect(manifest.config.mediaType).toBe(MediaType.dockerConfig);
    expect(manifest.annotations).toBeUndefined();
    expect(manifest.layers.map((layer: { mediaType: string }) => layer.mediaType)).toEqual([
      MediaType.dockerLayerGzip,
      MediaType.dockerLayerGzip,
    ]);

    await expect(editImage({ format: 'docker', annotations: { a: 'b' } })).rejects.toMatchObject({
      code: 'UNSUPPORTED',
    });
    // a Docker source annotated without a format asked for is written as OCI
    const fromDocker = join(work, 'from-docker');
    const result = await copy(new ImageDirectory(v2s2), new OciLayout(fromDocker, 'latest'), {
      edit: await editImage({ annotations: { a: 'b' } }),
    });
    const oci = JSON.parse(await readFile(blobPath(fromDocker, result.descriptor.digest), 'utf8'));
    expect(oci.mediaType).toBe(MediaType.ociManifest);
    expect(oci.annotations).toEqual({ a: 'b' });
  });

  it('parses --cmd and --entrypoint as a JSON array or a shell string', () => {
    expect(parseCommand('["a", "b c"]')).toEqual(['a', 'b c']);
    expect(parseCommand('run --fast')).toEqual(['/bin/sh', '-c', 'run --fast']);
    expect(() => parseCommand('["a", 1]', '--cmd')).toThrow(
      expect.objectContaining({ code: 'CONFIG_EDIT_INVALID' }),
    );
    expect(() => parseCommand('[oops', '--cmd')).toThrow(
      expect.objectContaining({ code: 'CONFIG_EDIT_INVALID' }),
    );
  });
});

describe('the README example of editImage', () => {
  it('adds the directory, merges the two layers and edits the config', async () => {
    const directory = join(work, 'readme-app');
    await mkdir(join(directory, 'bin'), { recursive: true });
    await writeFile(join(directory, 'bin', 'run'), 'run\n');
    const dst = join(work, 'readme');
    const result = await example(fixture.dir, dst, directory);
    const { manifest, config } = await imageIn(dst, result.descriptor.digest);
    expect(manifest.layers.map((layer) => layer.annotations?.['org.opencontainers.image.title'])).toEqual([
      undefined,
      'app',
    ]);
    expect(config.config).toMatchObject({ User: '1000:1000', Cmd: ['/bin/sh', '-c', 'run --fast'] });
    expect(config.config?.Env).toContain('MODE=prod');
    const tree = await unpackWithUmoci(dst, 'latest', join(work, 'readme-bundle'));
    const expected = expectedFixtureTree();
    expected.set('bin', 'directory');
    expected.set('bin/run', `file ${Buffer.from('run\n').toString('base64')}`);
    expect(new Map([...tree].sort())).toEqual(new Map([...expected].sort()));
  });
});

describe('bad input leaves the destination untouched', () => {
  it('a layer name matching two layers, or none', async () => {
    // the longest prefix both fixture layers' digests share (at least "sha256:")
    const layers = (await imageIn(fixture.dir, fixture.root.digest)).manifest.layers;
    const common = [...layers[0]!.digest].findIndex((c, i) => c !== layers[1]!.digest[i]);
    const shared = layers[0]!.digest.slice(0, common);
    await expect(editTo('ambiguous', { removeLayers: [shared] })).rejects.toMatchObject({
      code: 'LAYER_AMBIGUOUS',
      message: expect.stringContaining(layers[1]!.digest),
    });
    await expect(editTo('unknown', { mergeLayers: ['%1..nothing'] })).rejects.toMatchObject({
      code: 'LAYER_UNKNOWN',
      message: expect.stringContaining('nothing'),
    });
    for (const name of ['ambiguous', 'unknown']) {
      await expect(access(join(work, name))).rejects.toMatchObject({ code: 'ENOENT' });
    }
  });

  it('a layer both removed and merged, and a pair without "="', async () => {
    await expect(editTo('twice', { removeLayers: ['%1'], mergeLayers: ['..'] })).rejects.toMatchObject({
      code: 'PLAN_INVALID',
      message: expect.stringContaining('layer %1 is removed already and cannot be merged in ..'),
    });
    await expect(access(join(work, 'twice'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(() => parsePairs(['app'], '--add-layer', 'TITLE=PATH')).toThrow(
      expect.objectContaining({
        code: 'CONFIG_EDIT_INVALID',
        message: '--add-layer "app" is not TITLE=PATH',
      }),
    );
  });

  it('a config whose diff_ids do not match its layers', async () => {
    const liar = join(work, 'liar');
    await run('cp', ['-r', fixture.dir, liar]);
    const { manifest, config } = await imageIn(liar, fixture.root.digest);
    const configBytes = new TextEncoder().encode(
      JSON.stringify({ ...config, rootfs: { type: 'layers', diff_ids: config.rootfs.diff_ids.slice(1) } }),
    );
    await writeFile(blobPath(liar, computeDigest(configBytes)), configBytes);
    const lying: ImageManifest = {
      ...manifest,
      config: { ...manifest.config, digest: computeDigest(configBytes), size: configBytes.byteLength },
    };
    const { bytes, descriptor } = encodeManifest(lying, MediaType.ociManifest);
    await writeFile(blobPath(liar, descriptor.digest), bytes);
    const index = JSON.parse(await readFile(join(liar, 'index.json'), 'utf8'));
    index.manifests[0] = { ...index.manifests[0], digest: descriptor.digest, size: descriptor.size };
    await writeFile(join(liar, 'index.json'), JSON.stringify(index));

    await expect(editTo('from-liar', { config: { user: '1:1' } }, liar)).rejects.toMatchObject({
      code: 'DIFF_ID_MISMATCH',
      message: expect.stringContaining('1 diff_ids for 2 layers'),
    });
    await expect(access(join(work, 'from-liar'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
