import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { buildFixtureLayout } from './fixtures/index.js';
import { startPodman } from './podman.js';

const run = promisify(execFile);

describe('startPodman', () => {
  const work = mkdtemp(join(tmpdir(), 'concil-podman-test-'));
  afterAll(async () => {
    await rm(await work, { recursive: true, force: true });
  });

  it('serves the Docker API on its socket, loads an image, and leaves nothing when stopped', async () => {
    const dir = await work;
    const layout = await buildFixtureLayout(join(dir, 'layout'));
    const archive = join(dir, 'fixture.tar');
    await run('skopeo', [
      'copy',
      '-q',
      `oci:${layout.dir}:${layout.tag}`,
      `docker-archive:${archive}:fixture/app:v1`,
    ]);
    const podman = await startPodman();
    try {
      expect(await podman.load(archive)).toContain('docker.io/fixture/app:v1');
      expect(await podman.diffIds('fixture/app:v1')).toEqual(layout.images[0]!.diffIds);
    } finally {
      await podman.stop();
    }
    await expect(stat(dirname(podman.socketPath))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
