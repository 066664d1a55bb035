import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { computeDigest, MediaType } from '@concil/oci-spec';
import { buildFixtureLayout, type FixtureLayout, startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './test/run-cli.js';

const run = promisify(execFile);
let registry: TestRegistry;
let work: string;
let fixture: FixtureLayout;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-e2e-archives-'));
  registry = await startRegistry();
  fixture = await buildFixtureLayout(join(work, 'fixture'));
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('concil with archives', () => {
  it('copies into a docker-archive and an oci-archive, lists and inspects them, publishes one', async () => {
    const dockerArchive = join(work, 'app.tar');
    const ociArchive = join(work, 'app-oci.tar');
    const source = `oci:${fixture.dir}:${fixture.tag}`;
    expect(await runCli(['copy', '-q', source, `docker-archive:${dockerArchive}:app:1`])).toMatchObject({
      code: 0,
    });
    expect(await runCli(['copy', '-q', source, `oci-archive:${ociArchive}:v1`])).toMatchObject({ code: 0 });

    const listed = await runCli(['list', '--json', `docker-archive:${dockerArchive}:app:1`]);
    expect(listed.code).toBe(0);
    expect(JSON.stringify(JSON.parse(listed.stdout))).toContain(fixture.images[0]!.diffIds[0]!);
    const inspected = await runCli(['inspect', `oci-archive:${ociArchive}:v1`]);
    expect(inspected.code).toBe(0);
    expect(JSON.parse(inspected.stdout).Digest).toBe(fixture.root.digest);

    // docker save's layers are uncompressed tars: gzip them on the way to a registry.
    const pushed = `docker://${registry.host}/archives/app:1`;
    const copied = await runCli([
      'copy',
      '-q',
      '--tar-gzip',
      `docker-archive:${dockerArchive}:app:1`,
      pushed,
    ]);
    expect(copied).toMatchObject({ code: 0, stderr: '' });
    const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', pushed]);
    const manifest = JSON.parse(stdout);
    expect(manifest.mediaType).toBe(MediaType.dockerManifest);
    expect(manifest.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([
      MediaType.dockerLayerGzip,
      MediaType.dockerLayerGzip,
    ]);
    expect(manifest.config.digest).toBe(fixture.images[0]!.config.digest);
  });

  it('leaves an archive as it was when writing the new one fails (a full disk)', async () => {
    const dir = join(work, 'full');
    await mkdir(dir);
    const file = join(dir, 'app.tar');
    const source = `oci:${fixture.dir}:${fixture.tag}`;
    expect(await runCli(['copy', '-q', source, `docker-archive:${file}:app:1`])).toMatchObject({ code: 0 });
    const before = computeDigest(await readFile(file));
    // ulimit -f counts KiB: the blobs (under 1 KiB each) are staged, the 38 KB archive cannot be written.
    const result = await runCli(
      ['copy', '-q', source, `docker-archive:${file}:app:2`],
      {},
      { fileSizeLimitKiB: 8 },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `concil: docker-archive:${file}:app:2: cannot write ${file}: EFBIG: file too large, write; it was left as it was [WRITE_FAILED]\n`,
    );
    expect(computeDigest(await readFile(file))).toBe(before);
    expect(await readdir(dir)).toEqual(['app.tar']);
  });
});
