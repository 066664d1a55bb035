import { execFile } from 'node:child_process';
import { cp, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { computeDigest, MediaType } from '@concil/oci-spec';
import type { FixtureLayout, TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureRegistry, startFixtureRegistry } from './test/fixture-registry.js';
import { runCli } from './test/run-cli.js';

const run = promisify(execFile);
let setup: FixtureRegistry;
let registry: TestRegistry;
let work: string;
let single: FixtureLayout;
let multi: FixtureLayout;

beforeAll(async () => {
  setup = await startFixtureRegistry();
  ({ registry, work, single, multi } = setup);
}, 120_000);

afterAll(() => setup?.stop());

async function manifestDigestOf(image: string): Promise<string> {
  const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', image]);
  return computeDigest(stdout);
}

describe('concil copy against a real registry, checked by skopeo and umoci', () => {
  for (const kind of ['v2s2', 'oci'] as const) {
    it(`copies an image skopeo pushed as ${kind} into a directory that skopeo and umoci accept`, async () => {
      const source = `docker://${registry.host}/skopeo/${kind}:1`;
      const dir = join(work, `from-${kind}`);
      const copied = await runCli(['copy', '--json', source, dir]);
      expect(copied.stderr).toBe('');
      expect(copied.code).toBe(0);
      const result = JSON.parse(copied.stdout);
      expect(result.descriptor.digest).toBe(await manifestDigestOf(source));
      expect(result.blobsCopied).toBe(3);

      const { stdout } = await run('skopeo', ['inspect', `dir:${dir}`]);
      expect(JSON.parse(stdout).Layers).toHaveLength(2);
      const layout = join(work, `layout-${kind}`);
      await run('skopeo', ['copy', '-q', `dir:${dir}`, `oci:${layout}:t`]);
      const bundle = join(work, `bundle-${kind}`);
      await run('umoci', ['unpack', '--rootless', '--image', `${layout}:t`, bundle]);
      expect((await stat(join(bundle, 'rootfs', 'etc'))).isDirectory()).toBe(true);
    });
  }

  it('converts a v2s2 image to OCI for an OCI layout that skopeo and umoci read, unless digests are kept', async () => {
    const source = `docker://${registry.host}/skopeo/v2s2:1`;
    const layout = join(work, 'v2s2-layout');
    const kept = await runCli(['copy', '--preserve-digests', source, `oci:${layout}:v1`]);
    expect(kept.code).toBe(1);
    expect(kept.stderr.trim().split('\n')).toHaveLength(1);
    expect(kept.stderr).toMatch(/holds only OCI manifests.*\[UNSUPPORTED\]/);
    await expect(stat(layout)).rejects.toThrow(/ENOENT/);

    const copied = await runCli(['copy', '--json', source, `oci:${layout}:v1`]);
    expect(copied.code).toBe(0);
    const { descriptor } = JSON.parse(copied.stdout);
    expect(descriptor.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(descriptor.digest).not.toBe(await manifestDigestOf(source));
    const { stdout } = await run('skopeo', ['inspect', `oci:${layout}:v1`]);
    expect(JSON.parse(stdout).Digest).toBe(descriptor.digest);
    const bundle = join(work, 'bundle-v2s2-layout');
    await run('umoci', ['unpack', '--rootless', '--image', `${layout}:v1`, bundle]);
    expect((await stat(join(bundle, 'rootfs', 'etc'))).isDirectory()).toBe(true);
  });

  it('pushes a directory it wrote; the registry then serves the same manifest digest', async () => {
    const dir = join(work, 'from-v2s2');
    const target = `docker://${registry.host}/concil/pushed:2`;
    const pushed = await runCli(['copy', dir, target]);
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toMatch(/copied sha256:/);
    const sourceDigest = computeDigest(await readFile(join(dir, 'manifest.json')));
    expect(await manifestDigestOf(target)).toBe(sourceDigest);
    expect(await manifestDigestOf(`docker://${registry.host}/skopeo/v2s2:1`)).toBe(sourceDigest);
  });

  it('copies registry to registry on one host by mounting blobs', async () => {
    const result = await runCli([
      'copy',
      '--json',
      `docker://${registry.host}/skopeo/oci:1`,
      `docker://${registry.host}/concil/mounted:1`,
    ]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ blobsMounted: 3, blobsCopied: 0 });
    expect(await manifestDigestOf(`docker://${registry.host}/concil/mounted:1`)).toBe(
      await manifestDigestOf(`docker://${registry.host}/skopeo/oci:1`),
    );
  });

  it('picks one platform from an index, or copies all of them', async () => {
    const source = `docker://${registry.host}/skopeo/index:1`;
    const arm = await runCli(['copy', '--json', '--platform', 'linux/arm64', source, join(work, 'arm')]);
    expect(arm.code).toBe(0);
    const armImage = multi.images.find((image) => image.platform.startsWith('linux/arm64'));
    expect(JSON.parse(arm.stdout).descriptor.digest).toBe(armImage?.manifest.digest);

    const all = await runCli(['copy', '--json', '--all', source, `docker://${registry.host}/concil/all:1`]);
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout).descriptor.digest).toBe(await manifestDigestOf(source));
    const everything = join(work, 'all');
    expect((await runCli(['copy', '--all', source, everything])).code).toBe(0);
    await run('skopeo', ['copy', '-q', '--all', `dir:${everything}`, `oci:${join(work, 'all-oci')}:t`]);
  });

  it('lists an image in a registry', async () => {
    const listed = await runCli(['list', '--json', `docker://${registry.host}/skopeo/oci:1`]);
    expect(listed.code).toBe(0);
    const image = JSON.parse(listed.stdout);
    expect(image.config.config.Entrypoint).toEqual(['/bin/hello']);
    const text = await runCli(['list', '--config', '--history', `docker://${registry.host}/skopeo/oci:1`]);
    expect(text.stdout).toMatch(/entrypoint: +\["\/bin\/hello"\]/);
    expect(text.stdout).toMatch(/ADD base\.tar/);
  });

  it('ends a push of a corrupt oci: source with DIGEST_INVALID in one line, and tags nothing', async () => {
    const corrupt = join(work, 'corrupt-oci');
    await cp(single.dir, corrupt, { recursive: true });
    const layer = join(corrupt, 'blobs', 'sha256', single.images[0]!.layers[1]!.digest.slice(7));
    const bytes = await readFile(layer);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    await writeFile(layer, bytes);
    const target = `docker://${registry.host}/concil/corrupt:1`;
    const result = await runCli(['copy', `oci:${corrupt}:${single.tag}`, target]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/hashes to sha256:.*\[DIGEST_INVALID\]/);
    await expect(manifestDigestOf(target)).rejects.toThrow(/manifest unknown/);
  });

  it('says so in one line when the tag does not exist', async () => {
    const dir = join(work, 'never');
    const result = await runCli(['copy', `docker://${registry.host}/skopeo/oci:nope`, dir]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(
      `docker://${registry.host}/skopeo/oci:nope: tag not found (MANIFEST_UNKNOWN)`,
    );
    await expect(stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

async function rawManifest(image: string) {
  const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', image]);
  return JSON.parse(stdout);
}

describe('concil copy --squashfs, --tar-gzip', () => {
  it('converts a registry image to squashfs, and back to tar+gzip into the registry', async () => {
    const layout = join(work, 'squashfs');
    const toSquashfs = await runCli([
      'copy',
      '--json',
      '--squashfs',
      `docker://${registry.host}/skopeo/v2s2:1`,
      `oci:${layout}:1`,
    ]);
    expect(toSquashfs.stderr).toBe('');
    expect(toSquashfs.code).toBe(0);
    expect(JSON.parse(toSquashfs.stdout)).toMatchObject({ layersTransformed: 2 });
    // A v2s2 manifest cannot carry squashfs layers: the copy is an OCI image.
    const squashfs = await rawManifest(`oci:${layout}:1`);
    expect(squashfs.mediaType).toBe(MediaType.ociManifest);
    expect(squashfs.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([
      MediaType.ociLayerSquashfs,
      MediaType.ociLayerSquashfs,
    ]);

    const back = `docker://${registry.host}/concil/back:1`;
    const toGzip = await runCli(['copy', '--tar-gzip', `oci:${layout}:1`, back]);
    expect(toGzip.stderr).toBe('');
    expect(toGzip.stdout).toMatch(/, 2 layers transformed\n$/);
    const gzip = await rawManifest(back);
    expect(gzip.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([
      MediaType.ociLayerGzip,
      MediaType.ociLayerGzip,
    ]);
    const copied = join(work, 'back-oci');
    await run('skopeo', ['copy', '-q', '--src-tls-verify=false', back, `oci:${copied}:1`]);
    const bundle = join(work, 'bundle');
    await run('umoci', ['unpack', '--rootless', '--image', `${copied}:1`, bundle]);
    expect(await readFile(join(bundle, 'rootfs', 'etc', 'added.txt'), 'utf8')).toBe('added by layer 2\n');
  });

  it('refuses two conversions at once', async () => {
    const result = await runCli([
      'copy',
      '--tar',
      '--squashfs',
      `oci:${single.dir}:latest`,
      join(work, 'never'),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/option '--tar' cannot be used with option '--squashfs'/);
  });
});
