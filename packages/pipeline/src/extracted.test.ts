import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { convertLayers, copy, DockerArchive, OciLayout } from '@concil/image';
import { parsePlatform } from '@concil/oci-spec';
import { buildFixtureLayout } from '@concil/testkit';
import { describe, expect, it } from 'vitest';
import { Extracted } from './extracted.js';
import { describeTree, directoryPerTest } from './testing/image-layout.js';

const run = promisify(execFile);
const work = directoryPerTest();

/** The sha256 of each layer file of a docker-archive, in its manifest.json's order (tar(1) unpacks it). */
async function archiveLayerDigests(archive: string): Promise<string[]> {
  const dir = join(work(), 'unpacked-archive');
  await run('mkdir', ['-p', dir]);
  await run('tar', ['-xf', archive, '-C', dir]);
  const [manifest] = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  const digests: string[] = [];
  for (const layer of manifest.Layers as string[]) {
    digests.push(
      `sha256:${createHash('sha256')
        .update(await readFile(join(dir, layer)))
        .digest('hex')}`,
    );
  }
  await rm(dir, { recursive: true });
  return digests;
}

describe('extracted:', () => {
  it('stores a layer two images share once, and writes each image again with its diff_ids', async () => {
    const fixture = await buildFixtureLayout(join(work(), 'layout'), {
      platforms: ['linux/amd64', 'linux/arm64'],
    });
    const dir = join(work(), 'extracted');
    const skipped: number[] = [];
    for (const image of fixture.images) {
      const result = await copy(
        new OciLayout(fixture.dir, fixture.tag),
        new Extracted(dir, `fixture:${image.platform.split('/')[1]}`),
        {
          platform: parsePlatform(image.platform),
        },
      );
      skipped.push(result.blobsSkipped);
    }
    // The second image's base layer is already there: not fetched, not unpacked again.
    expect(skipped).toEqual([0, 1]);
    const [amd64, arm64] = fixture.images;
    const layerDirs = (await readdir(join(dir, 'layers', 'sha256'), { withFileTypes: true }))
      .filter((entry) => entry.isDirectory())
      .map((entry) => `sha256:${entry.name}`)
      .sort();
    expect(layerDirs).toEqual(
      [amd64!.layers[0]!.digest, amd64!.layers[1]!.digest, arm64!.layers[1]!.digest].sort(),
    );
    expect(await readdir(join(dir, 'images'))).toEqual(['fixture%3Aamd64.json', 'fixture%3Aarm64.json']);
    expect(amd64!.layers[0]!.digest).toBe(arm64!.layers[0]!.digest);
    // The layer's tree is the layer as it is: its whiteouts are the files the tar holds.
    const top = await describeTree(join(dir, 'layers', 'sha256', amd64!.layers[1]!.digest.slice(7)));
    expect(top.get('etc/.wh.removed-later.txt')).toBe('file 644 ');
    expect(top.get('var/cache/.wh..wh..opq')).toBe('file 644 ');

    for (const image of fixture.images) {
      const arch = image.platform.split('/')[1];
      const archive = join(work(), `${arch}.tar`);
      await copy(new Extracted(dir, `fixture:${arch}`), new DockerArchive(archive, `fixture:${arch}`));
      expect(await archiveLayerDigests(archive)).toEqual(image.diffIds);
      const { stdout } = await run('skopeo', ['inspect', '--config', `docker-archive:${archive}`]);
      expect(JSON.parse(stdout).rootfs.diff_ids).toEqual(image.diffIds);
    }
  });

  it('refuses to write an image again from a tree that was changed', async () => {
    const fixture = await buildFixtureLayout(join(work(), 'layout'));
    const dir = join(work(), 'extracted');
    await copy(new OciLayout(fixture.dir, fixture.tag), new Extracted(dir, 'fixture:latest'));
    const base = fixture.images[0]!.layers[0]!.digest.slice(7);
    await writeFile(
      join(dir, 'layers', 'sha256', base, 'etc', 'os-release'),
      'ID=concil-fixturX\nVERSION_ID=1\n',
    );
    const archive = join(work(), 'out.tar');
    await expect(
      copy(new Extracted(dir, 'fixture:latest'), new DockerArchive(archive)),
    ).rejects.toMatchObject({
      code: 'DIGEST_INVALID',
    });
    expect(await readdir(work())).toEqual(['extracted', 'layout']);
  });
});

describe('extracted: bad input', () => {
  it('refuses squashfs layers, and an existing directory is left as it was', async () => {
    const fixture = await buildFixtureLayout(join(work(), 'layout'));
    const dir = join(work(), 'extracted');
    await copy(new OciLayout(fixture.dir, fixture.tag), new Extracted(dir, 'fixture:1'));
    const before = await describeTree(dir);
    const error = await copy(new OciLayout(fixture.dir, fixture.tag), new Extracted(dir, 'fixture:2'), {
      edit: convertLayers('squashfs'),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'UNSUPPORTED',
      subject: 'application/vnd.oci.image.layer.v1.squashfs',
    });
    expect(await describeTree(dir)).toEqual(before);
  });
});
