import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { OciLayout, readImage } from '@concil/image';
import { buildFixtureLayout } from '@concil/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PASSWORD, type ProxiedImage, startProxiedImage, USER } from './test/proxied-image.js';
import { runCli, startCli } from './test/run-cli.js';

let setup: ProxiedImage;
let work: string;
let topLayer: string;

beforeAll(async () => {
  setup = await startProxiedImage('oci');
  work = setup.work;
  const { manifest } = await readImage(new OciLayout(join(work, 'layout'), 'latest'));
  topLayer = manifest.layers[1]!.digest;
}, 120_000);

afterAll(() => setup?.stop());

beforeEach(() => setup.proxy.clear());

const source = () => `docker://${USER}:${PASSWORD}@${setup.proxy.host}/app:1`;

/** Every entry below a directory, sorted. */
async function entriesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).sort();
}

/** Waits until some file below `dir` is a partial temporary of the stalled layer's 64 bytes. */
async function partialTemporaryIn(dir: string): Promise<string> {
  for (;;) {
    for (const name of await readdir(dir, { recursive: true }).catch(() => [] as string[])) {
      const path = join(dir, name);
      if (name.endsWith('.tmp') && (await stat(path).catch(() => undefined))?.size === 64) return path;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Starts `concil copy` of the image with its top layer stalled after 64 bytes, caught mid-blob. */
async function copyCaughtMidBlob(destination: string, watch: string) {
  setup.proxy.inject({ kind: 'stall', afterBytes: 64, match: { method: 'GET', path: new RegExp(topLayer) } });
  const running = await startCli(['copy', source(), destination]);
  const partial = await partialTemporaryIn(watch);
  return { ...running, partial };
}

describe('concil copy stopped by a signal', () => {
  it('cleans up an image directory on SIGINT and exits 130 with one line', async () => {
    const parent = join(work, 'sigint');
    await mkdir(parent);
    const destination = join(parent, 'image');
    const { child, result } = await copyCaughtMidBlob(destination, parent);
    child.kill('SIGINT');
    expect(await result).toEqual({
      code: 130,
      stdout: '',
      stderr: `concil: SIGINT: the copy stopped; dir:${destination} was left as it was [INTERRUPTED]\n`,
    });
    expect(await readdir(parent)).toEqual([]);
  });

  it('takes back what it added to an OCI layout on SIGTERM and exits 143', async () => {
    const layout = join(work, 'sigterm-layout');
    // Holds another image: the base layer is shared, the config and top layer are not.
    await buildFixtureLayout(layout, { platforms: ['linux/arm64'], tag: 'other' });
    const before = await entriesUnder(layout);
    const index = await readFile(join(layout, 'index.json'));
    const { child, result } = await copyCaughtMidBlob(`oci:${layout}:v1`, layout);
    child.kill('SIGTERM');
    const { code, stderr } = await result;
    expect(code).toBe(143);
    expect(stderr).toBe(
      `concil: SIGTERM: the copy stopped; oci:${layout}:v1 was left as it was [INTERRUPTED]\n`,
    );
    expect(await entriesUnder(layout)).toEqual(before);
    expect(await readFile(join(layout, 'index.json'))).toEqual(index);
  });
});

describe('concil copy after one was killed (SIGKILL)', () => {
  it('sweeps the staging the killed copy left beside an image directory', async () => {
    const parent = join(work, 'sigkill-dir');
    await mkdir(parent);
    const destination = join(parent, 'image');
    const { child, result, partial } = await copyCaughtMidBlob(destination, parent);
    child.kill('SIGKILL');
    expect((await result).signal).toBe('SIGKILL');
    expect((await stat(partial)).size).toBe(64);
    setup.proxy.clear();

    const again = await runCli(['copy', source(), destination]);
    expect(again.code).toBe(0);
    expect(await readdir(parent)).toEqual(['image']);
  });

  it('sweeps the temporary files the killed copy left in an OCI layout', async () => {
    const layout = join(work, 'sigkill-layout');
    const { child, result, partial } = await copyCaughtMidBlob(`oci:${layout}:v1`, layout);
    child.kill('SIGKILL');
    expect((await result).signal).toBe('SIGKILL');
    expect((await stat(partial)).size).toBe(64);
    setup.proxy.clear();

    const again = await runCli(['copy', source(), `oci:${layout}:v1`]);
    expect(again.code).toBe(0);
    expect((await entriesUnder(layout)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });
});
