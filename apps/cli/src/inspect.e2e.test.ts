import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { computeDigest } from '@concil/oci-spec';
import {
  buildFixtureLayout,
  type FixtureLayout,
  pushFixture,
  startRegistry,
  type TestRegistry,
} from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneLine } from './test/one-line.js';
import { runCli } from './test/run-cli.js';

const run = promisify(execFile);
let registry: TestRegistry;
let work: string;
let single: FixtureLayout;
let multi: FixtureLayout;
let dir: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-e2e-inspect-'));
  registry = await startRegistry();
  single = await buildFixtureLayout(join(work, 'single'));
  multi = await buildFixtureLayout(join(work, 'multi'), { platforms: ['linux/amd64', 'linux/arm64'] });
  await pushFixture(single.dir, `${registry.host}/app:v2s2`, { format: 'v2s2' });
  await pushFixture(single.dir, `${registry.host}/app:oci`, { format: 'oci' });
  await pushFixture(multi.dir, `${registry.host}/multi:1`, { format: 'index' });
  dir = join(work, 'dir');
  await run('skopeo', ['copy', '-q', `oci:${single.dir}:latest`, `dir:${dir}`]);
});

afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

async function skopeo(...args: string[]): Promise<string> {
  return (await run('skopeo', ['inspect', '--tls-verify=false', ...args])).stdout;
}

describe('concil inspect, checked against skopeo inspect', () => {
  for (const tag of ['v2s2', 'oci']) {
    it(`prints the fields skopeo prints for a registry image (${tag})`, async () => {
      const location = `docker://${registry.host}/app:${tag}`;
      const result = await runCli(['inspect', location]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const ours = JSON.parse(result.stdout);
      const theirs = JSON.parse(await skopeo(location));
      for (const field of ['Name', 'Digest', 'Created', 'Labels', 'Architecture', 'Os', 'Layers', 'Env']) {
        expect(ours[field], field).toEqual(theirs[field]);
      }
      expect([...ours.RepoTags].sort()).toEqual(['oci', 'v2s2']);
      expect([...theirs.RepoTags].sort()).toEqual(['oci', 'v2s2']);
      expect(Object.keys(ours)).toEqual([
        'Name',
        'Digest',
        'RepoTags',
        'Created',
        'DockerVersion',
        'Labels',
        'Architecture',
        'Os',
        'Layers',
        'LayersData',
        'Env',
      ]);
      expect(ours.LayersData.map((layer: { Digest: string }) => layer.Digest)).toEqual(theirs.Layers);
    });
  }

  it('reads every location form the CLI accepts: dir:, a bare path, oci:', async () => {
    const theirs = JSON.parse(await skopeo(`dir:${dir}`));
    for (const location of [`dir:${dir}`, dir, `oci:${single.dir}:latest`]) {
      const result = await runCli(['inspect', location]);
      expect(result.code, location).toBe(0);
      const ours = JSON.parse(result.stdout);
      expect(ours).not.toHaveProperty('Name');
      expect(ours.RepoTags).toEqual([]);
      for (const field of ['Digest', 'Architecture', 'Os', 'Layers', 'Env', 'Labels', 'Created']) {
        expect(ours[field], `${location} ${field}`).toEqual(theirs[field]);
      }
    }
  });

  it('gives the index digest and this machine’s image for a multi-platform image, another with --platform', async () => {
    const location = `docker://${registry.host}/multi:1`;
    const ours = JSON.parse((await runCli(['inspect', location])).stdout);
    const theirs = JSON.parse(await skopeo(location));
    expect(ours.Digest).toBe(multi.root.digest);
    expect([ours.Digest, ours.Architecture, ours.Layers]).toEqual([
      theirs.Digest,
      theirs.Architecture,
      theirs.Layers,
    ]);
    const arm = JSON.parse((await runCli(['inspect', '--platform', 'linux/arm64', location])).stdout);
    const armImage = multi.images.find((image) => image.platform.startsWith('linux/arm64'));
    expect([arm.Digest, arm.Architecture]).toEqual([multi.root.digest, 'arm64']);
    expect(arm.Layers).toEqual(armImage?.layers.map((layer) => layer.digest));
  });

  it('prints the manifest byte for byte with --raw (an index as it is), and the config with --config', async () => {
    for (const location of [
      `docker://${registry.host}/app:v2s2`,
      `docker://${registry.host}/multi:1`,
      `dir:${dir}`,
      `oci:${single.dir}:latest`,
    ]) {
      const raw = await runCli(['inspect', '--raw', location]);
      expect(raw.code).toBe(0);
      expect(raw.stdout, location).toBe(await skopeo('--raw', location));
    }
    const location = `docker://${registry.host}/app:v2s2`;
    const configRaw = await runCli(['inspect', '--config', '--raw', location]);
    expect(configRaw.stdout).toBe(await skopeo('--config', '--raw', location));
    expect(computeDigest(configRaw.stdout)).toBe(single.images[0]?.config.digest);
    const config = await runCli(['inspect', '--config', location]);
    expect(JSON.parse(config.stdout)).toEqual(JSON.parse(configRaw.stdout));
  });

  it('leaves RepoTags empty with --no-tags', async () => {
    const result = await runCli(['inspect', '--no-tags', `docker://${registry.host}/app:oci`]);
    expect(JSON.parse(result.stdout).RepoTags).toEqual([]);
  });

  it('says in one line which tag or repository does not exist', async () => {
    const tag = await runCli(['inspect', `docker://${registry.host}/app:nope`]);
    expect(tag.code).toBe(1);
    expect(tag.stdout).toBe('');
    expect(oneLine(tag.stderr)).toBe(
      `concil: docker://${registry.host}/app:nope: tag not found (MANIFEST_UNKNOWN); check the tag with \`concil tags\``,
    );
    const repository = await runCli(['inspect', `docker://${registry.host}/nothing/here:1`]);
    expect(repository.code).toBe(1);
    expect(oneLine(repository.stderr)).toBe(
      `concil: docker://${registry.host}/nothing/here: repository not found (NAME_UNKNOWN); check the name with \`concil catalog\``,
    );
  });
});

describe('concil digest', () => {
  it('prints the manifest digest as skopeo sees it, in every location form', async () => {
    for (const location of [
      `docker://${registry.host}/app:v2s2`,
      `docker://${registry.host}/multi:1`,
      `dir:${dir}`,
      dir,
      `oci:${single.dir}:latest`,
    ]) {
      const result = await runCli(['digest', location]);
      expect(result.code, location).toBe(0);
      const skopeoLocation = location === dir ? `dir:${dir}` : location;
      expect(result.stdout, location).toBe(`${computeDigest(await skopeo('--raw', skopeoLocation))}\n`);
    }
  });

  it("gives one platform's manifest with --platform, and the descriptor with --json", async () => {
    const location = `docker://${registry.host}/multi:1`;
    const armImage = multi.images.find((image) => image.platform.startsWith('linux/arm64'));
    const arm = await runCli(['digest', '--platform', 'linux/arm64', location]);
    expect(arm.stdout).toBe(`${armImage?.manifest.digest}\n`);
    const json = await runCli(['digest', '--json', location]);
    expect(JSON.parse(json.stdout)).toEqual({ image: location, descriptor: multi.root });
  });

  it('says in one line that the tag does not exist', async () => {
    const result = await runCli(['digest', `docker://${registry.host}/app:nope`]);
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toMatch(/tag not found \(MANIFEST_UNKNOWN\)/);
  });
});
