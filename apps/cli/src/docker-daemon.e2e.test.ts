import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildFixtureLayout, type FixtureLayout, startPodman, type TestPodman } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneLine } from './test/one-line.js';
import { runCli } from './test/run-cli.js';

const run = promisify(execFile);
// One podman service for the file.
let podman: TestPodman;
let work: string;
let fixture: FixtureLayout;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-e2e-daemon-'));
  fixture = await buildFixtureLayout(join(work, 'fixture'));
  const saved = join(work, 'saved.tar');
  await run('skopeo', [
    'copy',
    '-q',
    `oci:${fixture.dir}:${fixture.tag}`,
    `docker-archive:${saved}:fixture/app:v1`,
  ]);
  podman = await startPodman();
  await podman.load(saved);
}, 120_000);

afterAll(async () => {
  await podman?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('concil with a Docker or Podman daemon (docker-daemon:, --socket)', () => {
  it('copies an image out of podman, lists and inspects it there, as skopeo copy docker-daemon: does', async () => {
    const out = join(work, 'from-daemon');
    const source = 'docker-daemon:fixture/app:v1';
    const socket = ['--socket', podman.socketPath];
    expect(await runCli(['copy', '-q', ...socket, source, `oci:${out}:v1`])).toMatchObject({
      code: 0,
      stderr: '',
    });
    const diffIds = await podman.diffIds('fixture/app:v1');
    const { stdout } = await run('skopeo', ['inspect', '--config', `oci:${out}:v1`]);
    expect(JSON.parse(stdout).rootfs.diff_ids).toEqual(diffIds);

    const listed = await runCli(['list', '--json', ...socket, source]);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).config.rootfs.diff_ids).toEqual(diffIds);
    const inspected = await runCli(['inspect', ...socket, source]);
    expect(inspected.code).toBe(0);
    expect(JSON.parse(inspected.stdout).Layers).toEqual(diffIds);
  });

  it('copies an image into podman: podman images lists it with the same diff_ids', async () => {
    const copied = await runCli([
      'copy',
      '-q',
      '--socket',
      podman.socketPath,
      `oci:${fixture.dir}:${fixture.tag}`,
      'docker-daemon:concil/cli:v1',
    ]);
    expect(copied).toMatchObject({ code: 0, stderr: '' });
    expect(await podman.podman(['images', '--format', '{{.Repository}}:{{.Tag}}'])).toContain(
      'docker.io/concil/cli:v1',
    );
    expect(await podman.diffIds('concil/cli:v1')).toEqual(fixture.images[0]!.diffIds);
  });

  it('copies from the daemon into the same daemon under another name', async () => {
    const copied = await runCli([
      'copy',
      '-q',
      '--socket',
      podman.socketPath,
      'docker-daemon:fixture/app:v1',
      'docker-daemon:concil/again:v2',
    ]);
    expect(copied).toMatchObject({ code: 0, stderr: '' });
    expect(await podman.diffIds('concil/again:v2')).toEqual(await podman.diffIds('fixture/app:v1'));
  });

  it('loads zstd layers as they are; refuses squashfs ones, and nothing is loaded', async () => {
    const source = `oci:${fixture.dir}:${fixture.tag}`;
    const socket = ['--socket', podman.socketPath];
    expect(
      await runCli(['copy', '-q', '--tar-zstd', ...socket, source, 'docker-daemon:concil/zstd:v1']),
    ).toMatchObject({
      code: 0,
      stderr: '',
    });
    expect(await podman.diffIds('concil/zstd:v1')).toEqual(fixture.images[0]!.diffIds);
    const refused = await runCli([
      'copy',
      '-q',
      '--squashfs',
      ...socket,
      source,
      'docker-daemon:concil/squashfs:v1',
    ]);
    expect(refused.code).toBe(1);
    expect(oneLine(refused.stderr)).toMatch(
      /^concil: docker-daemon:concil\/squashfs:v1: layer sha256:[0-9a-f]{64} is squashfs; a daemon loads tar layers: copy with --tar \[UNSUPPORTED\]$/,
    );
    expect(await podman.podman(['images', '--format', '{{.Repository}}'])).not.toContain('squashfs');
  });

  it('says in one line that no daemon listens on the socket, and writes nothing', async () => {
    const socket = join(work, 'absent.sock');
    const out = join(work, 'never');
    const result = await runCli([
      'copy',
      '--socket',
      socket,
      'docker-daemon:fixture/app:v1',
      `oci:${out}:v1`,
    ]);
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toBe(
      `concil: cannot reach a Docker or Podman daemon on ${socket}: there is no socket there; start the daemon (podman system service) or give its socket with --socket PATH [DAEMON_UNREACHABLE]`,
    );
    await expect(stat(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('says in one line that the daemon has no such image, and writes nothing', async () => {
    const out = join(work, 'never-404');
    const result = await runCli([
      'copy',
      '--socket',
      podman.socketPath,
      'docker-daemon:concil/missing:v1',
      `oci:${out}:v1`,
    ]);
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toMatch(
      new RegExp(
        `^concil: the daemon on ${podman.socketPath} has no image concil/missing:v1 \\(404: .*\\); .* \\[NOT_FOUND\\]$`,
      ),
    );
    await expect(stat(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
