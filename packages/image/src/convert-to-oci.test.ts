import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  computeDigest,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  MediaType,
} from '@concil/oci-spec';
import { openRegistryTarget } from '@concil/registry-client';
import {
  buildFixtureLayout,
  FIXTURE_PLATFORMS,
  type FixtureLayout,
  pushFixture,
  startRegistry,
  type TestRegistry,
} from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertManifestToOci } from './convert-to-oci.js';
import { copy } from './copy.js';
import { OciArchive } from './oci-archive.js';
import { OciLayout } from './oci-layout.js';

const run = promisify(execFile);
let registry: TestRegistry;
let work: string;
let single: FixtureLayout;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-convert-'));
  registry = await startRegistry();
  single = await buildFixtureLayout(join(work, 'single'));
  const multi = await buildFixtureLayout(join(work, 'multi'), { platforms: FIXTURE_PLATFORMS });
  await pushFixture(single.dir, `${registry.host}/docker/v2s2:1`, { format: 'v2s2' });
  await pushFixture(multi.dir, `${registry.host}/docker/list:1`, { format: 'list' });
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

/** A manifest or index as JSON (the fields of either, to read both alike). */
type Document = ImageManifest & ImageIndex;

function jsonOf(bytes: Uint8Array): Document {
  return JSON.parse(Buffer.from(bytes).toString());
}

/** The manifest or index a registry serves for a reference. */
async function registryManifest(reference: string): Promise<Document> {
  const target = openRegistryTarget(`${registry.host}/${reference}`);
  const { bytes } = await target.client.getManifest(target.repository, target.defaultReference);
  await target.client.close();
  return jsonOf(bytes);
}

/** Replaces Docker media types by their OCI equivalents, the only change the conversion may make. */
function withOciMediaTypes(json: Document): Document {
  const types: Record<string, string> = {
    [MediaType.dockerManifest]: MediaType.ociManifest,
    [MediaType.dockerManifestList]: MediaType.ociIndex,
    [MediaType.dockerConfig]: MediaType.ociConfig,
    [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
  };
  return JSON.parse(JSON.stringify(json), (key, value) =>
    key === 'mediaType' ? (types[value as string] ?? value) : value,
  );
}

describe('copy of a Docker image into an OCI layout', () => {
  it('writes an OCI manifest (media types only, blobs byte-identical) that skopeo and umoci read', async () => {
    const source = await registryManifest('docker/v2s2:1');
    expect(source.mediaType).toBe(MediaType.dockerManifest);
    const layout = join(work, 'from-v2s2');
    const result = await copy(
      openRegistryTarget(`${registry.host}/docker/v2s2:1`),
      new OciLayout(layout, 'v1'),
    );

    const written = await readFile(join(layout, 'blobs', 'sha256', result.descriptor.digest.slice(7)));
    expect(result.descriptor).toEqual({
      mediaType: MediaType.ociManifest,
      digest: computeDigest(written),
      size: written.length,
    });
    expect(jsonOf(written)).toEqual(withOciMediaTypes(source));
    // Every blob the manifest names is there, its bytes hashing to its digest.
    for (const blob of [source.config, ...source.layers]) {
      expect(computeDigest(await readFile(join(layout, 'blobs', 'sha256', blob.digest.slice(7))))).toBe(
        blob.digest,
      );
    }

    const { stdout } = await run('skopeo', ['inspect', `oci:${layout}:v1`]);
    expect(JSON.parse(stdout).Layers).toEqual(single.images[0]!.layers.map((layer) => layer.digest));
    const bundle = join(work, 'bundle');
    await run('umoci', ['unpack', '--rootless', '--image', `${layout}:v1`, bundle]);
    expect((await stat(join(bundle, 'rootfs', 'etc'))).isDirectory()).toBe(true);
  });

  it('turns a Docker manifest list into an OCI index of converted manifests', async () => {
    const source = await registryManifest('docker/list:1');
    expect(source.mediaType).toBe(MediaType.dockerManifestList);
    const layout = join(work, 'from-list');
    const result = await copy(
      openRegistryTarget(`${registry.host}/docker/list:1`),
      new OciLayout(layout, 'v1'),
      {
        all: true,
      },
    );
    expect(result.descriptor.mediaType).toBe(MediaType.ociIndex);
    const index = jsonOf(await readFile(join(layout, 'blobs', 'sha256', result.descriptor.digest.slice(7))));
    expect(index.mediaType).toBe(MediaType.ociIndex);
    expect(index.manifests.map((m) => m.platform)).toEqual(source.manifests.map((m) => m.platform));
    for (const [i, child] of index.manifests.entries()) {
      const original = await registryManifest(`docker/list@${source.manifests[i]!.digest}`);
      const converted = await readFile(join(layout, 'blobs', 'sha256', child.digest.slice(7)));
      expect(child).toMatchObject({ mediaType: MediaType.ociManifest, size: converted.length });
      expect(jsonOf(converted)).toEqual(withOciMediaTypes(original));
    }
    for (const arch of ['amd64', 'arm64']) {
      const { stdout } = await run('skopeo', ['--override-arch', arch, 'inspect', `oci:${layout}:v1`]);
      expect(JSON.parse(stdout).Architecture).toBe(arch);
    }
  });

  it('writes OCI manifests into an OCI archive too, which skopeo reads', async () => {
    const archive = join(work, 'from-v2s2.tar');
    const result = await copy(
      openRegistryTarget(`${registry.host}/docker/v2s2:1`),
      new OciArchive(archive, 'v1'),
    );
    expect(result.descriptor.mediaType).toBe(MediaType.ociManifest);
    const { stdout } = await run('skopeo', ['inspect', `oci-archive:${archive}:v1`]);
    expect(JSON.parse(stdout)).toMatchObject({
      Digest: result.descriptor.digest,
      Layers: single.images[0]!.layers.map((layer) => layer.digest),
    });
  });

  it('refuses to convert when digests are to be preserved, and writes nothing', async () => {
    const layout = join(work, 'preserved');
    const error = await copy(
      openRegistryTarget(`${registry.host}/docker/v2s2:1`),
      new OciLayout(layout, 'v1'),
      {
        preserveDigests: true,
      },
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'UNSUPPORTED',
      message: expect.stringMatching(/holds only OCI manifests/),
    });
    await expect(readdir(layout)).rejects.toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});

describe('convertManifestToOci', () => {
  const blob = (mediaType: string, n: number): Descriptor => ({
    mediaType,
    digest: `sha256:${String(n).repeat(64)}`,
    size: n,
  });
  const manifest = (layers: string[]) =>
    new TextEncoder().encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.dockerManifest,
        config: blob(MediaType.dockerConfig, 1),
        layers: layers.map((type, i) => blob(type, i + 2)),
      }),
    );

  it('maps every Docker layer type to its OCI one, and leaves the others as they are', () => {
    const { bytes, descriptor } = convertManifestToOci(
      manifest([
        MediaType.dockerLayerGzip,
        MediaType.dockerLayerTar,
        MediaType.dockerLayerZstd,
        MediaType.dockerLayerForeignGzip,
        MediaType.dockerLayerForeignTar,
        `${MediaType.dockerLayerGzip}+encrypted`,
        MediaType.ociLayerSquashfs,
        'application/x-unknown',
      ]),
    );
    expect(descriptor).toEqual({
      mediaType: MediaType.ociManifest,
      digest: computeDigest(bytes),
      size: bytes.length,
    });
    const converted = jsonOf(bytes);
    expect(converted.mediaType).toBe(MediaType.ociManifest);
    expect(converted.config).toEqual(blob(MediaType.ociConfig, 1));
    expect(converted.layers.map((layer) => layer.mediaType)).toEqual([
      MediaType.ociLayerGzip,
      MediaType.ociLayerTar,
      MediaType.ociLayerZstd,
      MediaType.ociLayerNondistGzip,
      MediaType.ociLayerNondistTar,
      `${MediaType.ociLayerGzip}+encrypted`,
      MediaType.ociLayerSquashfs,
      'application/x-unknown',
    ]);
  });
});
