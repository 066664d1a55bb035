import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { baseLayerEntries } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureRegistry, startFixtureRegistry } from './test/fixture-registry.js';
import { runCli } from './test/run-cli.js';

const run = promisify(execFile);
let fixture: FixtureRegistry;
/** Each fixture layer's digest, what `tar -t` lists (without `./` and trailing slashes), how many entries. */
let layers: { digest: string; paths: string[]; entries: number }[];

beforeAll(async () => {
  fixture = await startFixtureRegistry();
  // What `tar -t` lists of each fixture layer, without `./` and trailing slashes.
  layers = [];
  for (const layer of fixture.single.images[0]!.layers) {
    const blob = join(fixture.single.dir, 'blobs', 'sha256', layer.digest.slice(7));
    const { stdout } = await run('tar', ['--quoting-style=literal', '-tzf', blob]);
    const lines = stdout.split('\n').filter((line) => line !== '');
    const paths = lines
      .map((line) => line.replace(/^\.\//, '').replace(/\/$/, ''))
      .filter((path) => path !== '' && path !== '.');
    layers.push({ digest: layer.digest, paths, entries: lines.length });
  }
});
afterAll(async () => {
  await fixture?.stop();
});

const skopeoDigest = async (reference: string) =>
  (
    await run('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', reference])
  ).stdout.trim();

/** What tar -t finds that `keep` selects, layer by layer. */
const tarFinds = (keep: (path: string) => boolean) =>
  layers.flatMap(({ digest, paths }) => paths.filter(keep).map((path) => ({ layer: digest, path })));

describe('concil process SRC DST -f FILTER…', () => {
  it("normalizes timestamps from a registry named in occystrap's form by digest, to a registry and a docker-archive", async () => {
    const { host } = fixture.registry;
    const source = `registry://${host}/skopeo/oci:1@${fixture.single.root.digest}`;
    const pushed = await runCli([
      'process',
      '--json',
      '-f',
      'normalize-timestamps:1609459200',
      source,
      `registry://${host}/processed/app:1`,
    ]);
    expect(pushed.stderr).toBe('');
    expect(pushed.code).toBe(0);
    const result = JSON.parse(pushed.stdout);
    expect(result).toMatchObject({
      source: `docker://${host}/skopeo/oci:1@${fixture.single.root.digest}`,
      layersTransformed: 2,
    });
    expect(await skopeoDigest(`docker://${host}/processed/app:1`)).toBe(result.descriptor.digest);
    const archive = join(fixture.work, 'normalized.tar');
    const saved = await runCli([
      'process',
      '-q',
      '-f',
      'normalize-timestamps:1609459200',
      source,
      `tar://${archive}`,
    ]);
    expect(saved).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const config = JSON.parse(
      (await run('skopeo', ['inspect', '--config', `docker-archive:${archive}`])).stdout,
    );
    expect(config.created).toBe('2021-01-01T00:00:00Z');
    expect(config.rootfs.diff_ids).toEqual(
      JSON.parse(
        (
          await run('skopeo', [
            'inspect',
            '--tls-verify=false',
            '--config',
            `docker://${host}/processed/app:1`,
          ])
        ).stdout,
      ).rootfs.diff_ids,
    );
  });

  it('excludes globs given with commas, as tar -t shows', async () => {
    const dst = join(fixture.work, 'excluded');
    const result = await runCli([
      'process',
      '-q',
      '-f',
      'exclude:*.txt,bin/hello-*',
      `oci:${fixture.single.dir}:latest`,
      `oci:${dst}:1`,
    ]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const manifest = JSON.parse((await run('skopeo', ['inspect', '--raw', `oci:${dst}:1`])).stdout);
    for (const [i, layer] of manifest.layers.entries()) {
      const { stdout } = await run('tar', [
        '--quoting-style=literal',
        '-tzf',
        join(dst, 'blobs', 'sha256', layer.digest.slice(7)),
      ]);
      const after = stdout
        .split('\n')
        .map((line) => line.replace(/^\.\//, '').replace(/\/$/, ''))
        .filter((p) => p && p !== '.');
      expect(after).toEqual(
        layers[i]!.paths.filter((path) => !path.endsWith('.txt') && !path.startsWith('bin/hello-')),
      );
    }
  });

  it('searches while passing the image on unchanged, and records an inspection to a file', async () => {
    const dst = join(fixture.work, 'searched');
    const inspection = join(fixture.work, 'layers.json');
    const result = await runCli([
      'process',
      '--json',
      '-f',
      'search:etc/*',
      '-f',
      `inspect:${inspection}`,
      `oci:${fixture.single.dir}:latest`,
      `oci:${dst}:1`,
    ]);
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout);
    expect(output.descriptor.digest).toBe(fixture.single.root.digest);
    expect(
      output.search[0].matches.map(({ layer, path }: { layer: string; path: string }) => ({ layer, path })),
    ).toEqual(tarFinds((path) => /^etc\/[^/]+$/.test(path)));
    const recorded = JSON.parse(await readFile(inspection, 'utf8'));
    expect(recorded.layers.map((layer: { digest: string }) => layer.digest)).toEqual(
      layers.map((layer) => layer.digest),
    );
    expect(recorded.layers.map((layer: { entries: number }) => layer.entries)).toEqual(
      layers.map((layer) => layer.entries),
    );
  });

  it('refuses an unknown filter before anything is written', async () => {
    const dst = join(fixture.work, 'never');
    const text = await runCli([
      'process',
      '-f',
      'normalise',
      `oci:${fixture.single.dir}:latest`,
      `oci:${dst}:1`,
    ]);
    expect(text.code).toBe(1);
    expect(text.stderr).toBe(
      'concil: unknown filter "normalise" in -f normalise; the filters are normalize-timestamps[:TS], exclude:GLOB[,GLOB…], search:PATTERN, inspect[:FILE] [FILTER_UNKNOWN]\n',
    );
    const json = await runCli([
      'process',
      '--json',
      '-f',
      'normalise',
      `oci:${fixture.single.dir}:latest`,
      `oci:${dst}:1`,
    ]);
    expect(JSON.parse(json.stdout).error.code).toBe('FILTER_UNKNOWN');
    await expect(access(dst)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('concil search IMAGE PATTERN', () => {
  it('finds what tar -t finds, in the right layer, from a registry by digest, and writes nothing', async () => {
    const { host } = fixture.registry;
    const result = await runCli([
      'search',
      '--json',
      `docker://${fixture.registry.host}/skopeo/oci:1@${fixture.single.root.digest}`,
      '*.txt',
    ]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const output = JSON.parse(result.stdout);
    expect(
      output.matches.map(({ layer, path }: { layer: string; path: string }) => ({ layer, path })),
    ).toEqual(tarFinds((path) => path.endsWith('.txt')));
    expect(output.matches[0]).toMatchObject({
      image: `docker://${host}/skopeo/oci:1@${fixture.single.root.digest}`,
      type: 'file',
    });
  });

  it('prints image, layer, path, type and size a line; --regex takes a regular expression', async () => {
    const result = await runCli(['search', '--regex', `oci:${fixture.single.dir}:latest`, '^bin/hello$']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const [base] = layers;
    const hello = baseLayerEntries().find((entry) => entry.name === 'bin/hello');
    const helloSize = hello?.type === 'file' ? Buffer.byteLength(hello.content) : -1;
    expect(result.stdout).toBe(
      `oci:${fixture.single.dir}:latest\t${base!.digest}\tbin/hello\tfile\t${helloSize}\n`,
    );
  });
});
