import { type ChildProcess, spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { openStore } from './store.js';
import { type BuiltImage, buildImage, pushImage, randomFile } from './testing/fixtures.js';
import { configOf, useHarness } from './testing/harness.js';

const child = join(import.meta.dirname, 'testing', 'pull-child.mjs');
const MB = 1 << 20;
const h = useHarness();

function startPull(
  cacheDir: string,
  reference: string,
  squashfs = false,
): {
  process: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
} {
  const proc = spawn(process.execPath, [child, cacheDir, reference, ...(squashfs ? ['squashfs'] : [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout!.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
  });
  proc.stderr!.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  const done = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>((resolve) => proc.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { process: proc, done };
}

function blobGets(digest: string): number {
  return h.proxy.requests.filter((r) => r.method === 'GET' && r.url.endsWith(`/blobs/${digest}`)).length;
}

async function openCache(cacheDir: string) {
  return openStore({
    config: configOf(cacheDir),
    lockStaleMs: 3000,
  });
}

describe('several processes', () => {
  let image: BuiltImage;

  it('four processes pulling one image at once fetch each blob once and all succeed', async () => {
    image = buildImage(
      [0, 1, 2, 3].map((i) => ({
        files: [randomFile(`data/part${i}.bin`, 50 * MB)],
        compression: 'none' as const,
      })),
    );
    await pushImage(h.registry.url, 'many/big', '1', image);
    const cacheDir = join(h.dir, 'shared-cache');
    h.proxy.requests.length = 0;
    const runs = await Promise.all(
      [0, 1, 2, 3].map(() => startPull(cacheDir, `${h.proxy.host}/many/big:1`).done),
    );
    for (const run of runs) {
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout).manifest).toBe(image.manifestDescriptor.digest);
    }
    for (const layer of image.layers) expect(blobGets(layer.descriptor.digest)).toBe(1);
    expect(blobGets(image.configDescriptor.digest)).toBe(1);
    const copied = runs.reduce((sum, run) => sum + JSON.parse(run.stdout).blobsCopied, 0);
    expect(copied).toBe(image.layers.length + 1); // layers and config (manifests are not counted)
    const store = await openCache(cacheDir);
    expect((await store.verify()).problems).toEqual([]);
  }, 180_000);

  it('two processes pulling with squashfs fetch each blob once and both get every squashfs image', async () => {
    const small = buildImage([0, 1, 2].map((i) => ({ files: [randomFile(`s/part${i}.bin`, 3 * MB)] })));
    await pushImage(h.registry.url, 'many/sqfs', '1', small);
    const cacheDir = join(h.dir, 'sqfs-cache');
    h.proxy.requests.length = 0;
    const runs = await Promise.all(
      [0, 1].map(() => startPull(cacheDir, `${h.proxy.host}/many/sqfs:1`, true).done),
    );
    for (const run of runs) {
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const layers = JSON.parse(run.stdout).layers as { squashfs?: string }[];
      expect(layers.every((layer) => layer.squashfs)).toBe(true);
    }
    for (const layer of small.layers) expect(blobGets(layer.descriptor.digest)).toBe(1);
    const store = await openCache(cacheDir);
    expect(await readdir(join(store.layout.squashfsDir, 'sha256'))).toHaveLength(small.layers.length);
    expect((await store.verify()).problems).toEqual([]);
  }, 120_000);

  it('pulls killed with SIGKILL at random moments leave nothing served; the resumed pull is right', async () => {
    const killed = buildImage(
      [0, 1, 2].map((i) => ({
        files: [randomFile(`k/part${i}.bin`, 12 * MB), randomFile(`k/small${i}`, 100)],
      })),
    );
    await pushImage(h.registry.url, 'many/killed', '1', killed);
    const reference = `${h.proxy.host}/many/killed:1`;
    const cacheDir = join(h.dir, 'killed-cache');
    // How long a whole pull takes here, so that the kills land inside one, at random moments.
    const started = Date.now();
    const whole = await startPull(join(h.dir, 'killed-reference-cache'), reference, true).done;
    expect(whole.code).toBe(0);
    const duration = Date.now() - started;
    let completedBeforeKill = 0;
    for (let round = 0; round < 6; round++) {
      const pull = startPull(cacheDir, reference, true);
      await sleep(Math.floor(duration * (0.1 + Math.random() * 0.8)));
      pull.process.kill('SIGKILL');
      const result = await pull.done;
      if (result.code === 0) completedBeforeKill++;
      // Whatever the moment, nothing the store holds is wrong.
      const store = await openCache(cacheDir);
      expect((await store.verify()).problems).toEqual([]);
    }
    const store = await openCache(cacheDir);
    const image = await store.pull(reference, { squashfs: true });
    // The resumed pull removed what the killed ones left.
    expect(await readdir(store.layout.tmpDir)).toEqual([]);
    expect(image.manifestDescriptor.digest).toBe(killed.manifestDescriptor.digest);
    expect(image.layers.map((l) => l.diffId)).toEqual(killed.layers.map((l) => l.diffId));
    expect(image.layers.every((l) => l.squashfsPath)).toBe(true);
    expect((await store.verify()).problems).toEqual([]);
    expect(completedBeforeKill).toBeLessThan(6);
  }, 180_000);
});
