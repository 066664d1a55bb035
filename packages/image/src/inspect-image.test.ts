import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openRegistryTarget } from '@concil/registry-client';
import {
  buildFixtureLayout,
  type FixtureLayout,
  pushFixture,
  startRegistry,
  type TestRegistry,
} from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageDirectory } from './image-directory.js';
import { inspectImage } from './inspect-image.js';
import { OciLayout } from './oci-layout.js';

const run = promisify(execFile);
let work: string;
let registry: TestRegistry;
let single: FixtureLayout;
let multi: FixtureLayout;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-inspect-'));
  registry = await startRegistry();
  single = await buildFixtureLayout(join(work, 'single'));
  multi = await buildFixtureLayout(join(work, 'multi'), { platforms: ['linux/amd64', 'linux/arm64/v8'] });
  await pushFixture(single.dir, `${registry.host}/app:v2s2`, { format: 'v2s2' });
  await pushFixture(single.dir, `${registry.host}/app:oci`, { format: 'oci' });
  await pushFixture(multi.dir, `${registry.host}/multi:1`, { format: 'index' });
  await run('skopeo', ['copy', '-q', `oci:${single.dir}:latest`, `dir:${join(work, 'dir')}`]);
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

async function skopeoInspect(location: string, ...flags: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', ...flags, location]);
  return JSON.parse(stdout);
}

/** skopeo 1.9 prints no LayersData nor Variant (newer versions do): the rest is compared as printed. */
function fieldsSkopeo19Prints({
  LayersData: _,
  Variant: __,
  ...rest
}: Record<string, unknown>): Record<string, unknown> {
  return rest;
}

describe('inspectImage: what skopeo inspect prints', () => {
  for (const tag of ['v2s2', 'oci']) {
    it(`describes a registry image (${tag}) as skopeo does, every tag of the repository included`, async () => {
      const location = `docker://${registry.host}/app:${tag}`;
      const inspection = await inspectImage(openRegistryTarget(location));
      expect(fieldsSkopeo19Prints({ ...inspection })).toEqual(await skopeoInspect(location));
      expect(inspection.Name).toBe(`${registry.host}/app`);
      expect([...inspection.RepoTags].sort()).toEqual(['oci', 'v2s2']);
      const image = single.images[0]!;
      expect(inspection.LayersData).toEqual(
        image.layers.map((layer) => ({
          MIMEType: tag === 'oci' ? layer.mediaType : 'application/vnd.docker.image.rootfs.diff.tar.gzip',
          Digest: layer.digest,
          Size: layer.size,
          Annotations: null,
        })),
      );
    });
  }

  it('gives the index digest and the chosen platform of a multi-platform image', async () => {
    const location = `docker://${registry.host}/multi:1`;
    const arm = await inspectImage(openRegistryTarget(location), {
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    });
    expect(arm.Digest).toBe(multi.root.digest);
    expect([arm.Os, arm.Architecture, arm.Variant]).toEqual(['linux', 'arm64', 'v8']);
    const armImage = multi.images.find((image) => image.platform === 'linux/arm64/v8')!;
    expect(arm.Layers).toEqual(armImage.layers.map((layer) => layer.digest));
    expect(fieldsSkopeo19Prints({ ...arm })).toEqual(
      await skopeoInspect(location, '--override-arch', 'arm64', '--override-variant', 'v8'),
    );
  });

  it('describes an image directory and an OCI layout as skopeo does (no Name, no RepoTags)', async () => {
    const dir = join(work, 'dir');
    expect(fieldsSkopeo19Prints({ ...(await inspectImage(new ImageDirectory(dir))) })).toEqual(
      await skopeoInspect(`dir:${dir}`),
    );
    expect(fieldsSkopeo19Prints({ ...(await inspectImage(new OciLayout(single.dir, 'latest'))) })).toEqual(
      await skopeoInspect(`oci:${single.dir}:latest`),
    );
  });

  it('names an unknown tag (MANIFEST_UNKNOWN) and an unknown repository (NAME_UNKNOWN)', async () => {
    await expect(
      inspectImage(openRegistryTarget(`docker://${registry.host}/app:nope`)),
    ).rejects.toMatchObject({
      code: 'MANIFEST_UNKNOWN',
      reference: `docker://${registry.host}/app:nope`,
    });
    // docker-registry says MANIFEST_UNKNOWN for the manifest of a repository it lacks; the tag list tells.
    await expect(
      inspectImage(openRegistryTarget(`docker://${registry.host}/nothing:1`)),
    ).rejects.toMatchObject({
      code: 'NAME_UNKNOWN',
      reference: `docker://${registry.host}/nothing`,
    });
  });

  it('leaves RepoTags empty when asked not to list them', async () => {
    const inspection = await inspectImage(openRegistryTarget(`docker://${registry.host}/app:oci`), {
      tags: false,
    });
    expect(inspection.RepoTags).toEqual([]);
  });
});
