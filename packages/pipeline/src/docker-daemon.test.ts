import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { copy, openTarget } from '@concil/image';
import { buildFixtureLayout, type FixtureLayout, startPodman, type TestPodman } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerDaemon } from './docker-daemon.js';
import { closeLocation, openLocation } from './open-location.js';
import { example } from './readme-daemon.example.js';
import { busyboxImageOutput, runBundle, writeBusyboxImage } from './testing/busybox-image.js';

const run = promisify(execFile);

// One podman service for the whole file: starting one costs more than most tests here.
let podman: TestPodman;
let work: string;
let layout: FixtureLayout;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-docker-daemon-'));
  layout = await buildFixtureLayout(join(work, 'layout'));
  podman = await startPodman();
  await podman.loadLayout(layout.dir, layout.tag, 'fixture/app:v1');
});

afterAll(async () => {
  await podman?.stop();
  await rm(work, { recursive: true, force: true });
});

async function configDiffIds(location: string): Promise<string[]> {
  const { stdout } = await run('skopeo', ['inspect', '--config', location]);
  return (JSON.parse(stdout) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids;
}

async function absent(path: string): Promise<boolean> {
  return stat(path).then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
  );
}

describe('docker-daemon: as a source', () => {
  it('reads an image loaded into podman through its socket, spooled to no file left behind', async () => {
    const spoolDirectory = await mkdtemp(join(work, 'spool-'));
    const src = new DockerDaemon('fixture/app:v1', { socket: podman.socketPath, spoolDirectory });
    const out = join(work, 'from-daemon');
    try {
      await copy(src, openTarget(`oci:${out}:v1`));
      expect(await readdir(spoolDirectory)).toEqual([]);
    } finally {
      await src.close();
    }
    const diffIds = await podman.diffIds('fixture/app:v1');
    expect(diffIds).toEqual(layout.images[0]!.diffIds);
    expect(await configDiffIds(`oci:${out}:v1`)).toEqual(diffIds);
  });

  it("runs the README's example", async () => {
    const out = join(work, 'readme');
    const result = await example(podman.socketPath, out);
    expect(result.blobsCopied).toBe(3);
    expect(await configDiffIds(`oci:${out}:v1`)).toEqual(layout.images[0]!.diffIds);
  });

  it('reads an image by its ID and by its repository digest', async () => {
    const inspect = (format: string) =>
      podman.podman(['image', 'inspect', '--format', format, 'fixture/app:v1']).then((out) => out.trim());
    const id = await inspect('{{.Id}}');
    const [repoDigest] = JSON.parse(await inspect('{{json .RepoDigests}}')) as string[];
    for (const [image, out] of [
      [`sha256:${id}`, join(work, 'by-id')],
      [repoDigest!, join(work, 'by-digest')],
    ] as const) {
      const src = openLocation(`docker-daemon:${image}`, { socket: podman.socketPath });
      await copy(src, openTarget(`oci:${out}:v1`));
      expect(await configDiffIds(`oci:${out}:v1`)).toEqual(layout.images[0]!.diffIds);
    }
  });

  it('says when no daemon listens on the socket, and writes nothing', async () => {
    const socket = join(work, 'no-such.sock');
    const out = join(work, 'never-absent-socket');
    const src = openLocation('docker-daemon:fixture/app:v1', { socket });
    await expect(copy(src, openTarget(`oci:${out}:v1`))).rejects.toMatchObject({
      code: 'DAEMON_UNREACHABLE',
      message: `cannot reach a Docker or Podman daemon on ${socket}: there is no socket there; start the daemon (podman system service) or give its socket with --socket PATH`,
    });
    expect(await absent(out)).toBe(true);
  });

  it('says when the daemon has no such image (404), and writes nothing', async () => {
    const out = join(work, 'never-404');
    const src = openLocation('docker-daemon:concil/missing:v9', { socket: podman.socketPath });
    await expect(copy(src, openTarget(`oci:${out}:v1`))).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(
        new RegExp(
          `^the daemon on ${podman.socketPath} has no image concil/missing:v9 \\(404: .*concil/missing:v9.*\\)`,
        ),
      ),
    });
    expect(await absent(out)).toBe(true);
  });
});

describe('docker-daemon: into bundle:', () => {
  it("writes an image read through podman's socket as a bundle that runc run starts", async () => {
    const image = await writeBusyboxImage(join(work, 'busybox'));
    await podman.loadLayout(image.layout, 'latest', 'concil/busybox:v1');
    const bundle = join(work, 'busybox-bundle');
    const src = openLocation('docker-daemon:concil/busybox:v1', { socket: podman.socketPath });
    try {
      await copy(src, openLocation(`bundle:${bundle}`));
    } finally {
      await closeLocation(src);
    }
    expect(await readdir(bundle)).toEqual(['config.json', 'rootfs']);
    expect(await runBundle(bundle)).toBe(busyboxImageOutput);
  });
});

describe('docker-daemon: as a sink', () => {
  it('loads an image through POST /images/load: podman lists it with the same diff_ids', async () => {
    const dst = openLocation('docker-daemon:concil/written:v2', { socket: podman.socketPath });
    await copy(openTarget(`oci:${layout.dir}:${layout.tag}`), dst);
    expect(await podman.podman(['images', '--format', '{{.Repository}}:{{.Tag}}'])).toContain(
      'docker.io/concil/written:v2',
    );
    expect(await podman.diffIds('concil/written:v2')).toEqual(layout.images[0]!.diffIds);
  });

  it('refuses to load under an ID or a digest, before anything is sent', async () => {
    const [repoDigest] = JSON.parse(
      await podman.podman(['image', 'inspect', '--format', '{{json .RepoDigests}}', 'fixture/app:v1']),
    ) as string[];
    const dst = openLocation(`docker-daemon:${repoDigest}`, { socket: podman.socketPath });
    await expect(copy(openTarget(`oci:${layout.dir}:${layout.tag}`), dst)).rejects.toMatchObject({
      code: 'TARGET_INVALID',
      message: `docker-daemon:${repoDigest}: an image is loaded into a daemon under a name: write docker-daemon:NAME:TAG, not an ID or digest`,
    });
  });

  it('writes a docker-archive that podman load accepts, with the same diff_ids', async () => {
    const file = join(work, 'concil-written.tar');
    await copy(
      openTarget(`oci:${layout.dir}:${layout.tag}`),
      openTarget(`docker-archive:${file}:concil/archived:v3`),
    );
    // image's writer gives RepoTags docker save's short form, which podman files under localhost/.
    expect(await podman.load(file)).toBe('Loaded image: localhost/concil/archived:v3\n');
    expect(await podman.diffIds('localhost/concil/archived:v3')).toEqual(layout.images[0]!.diffIds);
  });
});

describe("a daemon on a Unix socket that answers with Docker's format, broken tarballs, or nothing", () => {
  let broken: string;
  let corrupt: string;
  let docker25: string;
  let missingLayer: string;
  let server: Server;
  let fakeSocket: string;
  /** What the fake daemon answers to POST /images/load, after reading the upload. */
  let loadAnswer = '';
  const staleLayer = `sha256:${'5'.repeat(64)}`;

  beforeAll(async () => {
    // podman's own answer, its manifest.json made to name a layer the tarball does not hold.
    const tree = join(work, 'broken-tree');
    await mkdir(tree);
    const saved = join(work, 'podman-saved.tar');
    const answer = await new DockerDaemon('fixture/app:v1', { socket: podman.socketPath }).engine.saveImage(
      'fixture/app:v1',
    );
    await writeFile(saved, answer);
    await run('tar', ['-C', tree, '-xf', saved]);
    const manifest = JSON.parse(await readFile(join(tree, 'manifest.json'), 'utf8')) as [
      { Layers: string[] },
    ];
    missingLayer = `${'0'.repeat(64)}.tar`;
    const layer = join(tree, manifest[0].Layers[1]!);
    // A layer whose bytes are not its diff_id: found only once it has streamed.
    const bytes = await readFile(layer);
    bytes[100] = (bytes[100] ?? 0) ^ 0xff;
    await writeFile(layer, bytes);
    corrupt = join(work, 'corrupt.tar');
    await run('tar', ['-C', tree, '-cf', corrupt, ...(await readdir(tree))]);
    manifest[0].Layers[1] = missingLayer;
    await writeFile(join(tree, 'manifest.json'), JSON.stringify(manifest));
    broken = join(work, 'broken.tar');
    await run('tar', ['-C', tree, '-cf', broken, ...(await readdir(tree))]);
    // Docker 25's answer: an OCI layout in the tar beside manifest.json, in name order (it tars a
    // directory), the layers gzip as pulled (the containerd image store).
    const ociTree = join(work, 'docker25-tree');
    await run('cp', ['-r', layout.dir, ociTree]);
    const image = layout.images[0]!;
    const blob = (digest: string) => `blobs/sha256/${digest.slice('sha256:'.length)}`;
    const dockerManifest = [
      {
        Config: blob(image.config.digest),
        RepoTags: ['docker25/app:v1'],
        Layers: image.layers.map((l) => blob(l.digest)),
      },
    ];
    await writeFile(join(ociTree, 'manifest.json'), JSON.stringify(dockerManifest));
    docker25 = join(work, 'docker25.tar');
    await run('tar', ['-C', ociTree, '--sort=name', '-cf', docker25, ...(await readdir(ociTree))]);
    // A daemon that answers with these tarballs: a real HTTP server on a Unix socket.
    fakeSocket = join(work, 'fake-daemon.sock');
    server = createServer((req, res) => {
      if (req.method === 'POST' && req.url === '/images/load?quiet=1') {
        req.resume().on('end', () => res.writeHead(200).end(loadAnswer));
        return;
      }
      if (req.url === '/images/docker.io/concil/stale:v1/json') {
        // The tag still names the image it named before.
        res.writeHead(200).end(JSON.stringify({ Id: 'sha256:0', RootFS: { Layers: [staleLayer] } }));
        return;
      }
      if (req.url === '/images/fixture/broken-off:v1/get') {
        // Half the answer, then the connection drops.
        res.writeHead(200, { 'Content-Type': 'application/x-tar' });
        res.write(Buffer.alloc(10_240), () => res.destroy());
        return;
      }
      const tarball = { '/images/fixture/app:v1/get': broken, '/images/docker25/app:v1/get': docker25 }[
        req.url ?? ''
      ];
      if (!tarball) {
        res.writeHead(404).end('{"message":"no such image"}');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/x-tar' });
      createReadStream(tarball).pipe(res);
    });
    await new Promise<void>((resolve) => server.listen(fakeSocket, resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  const layerMessage = (where: string) =>
    `${where}: manifest.json names layer 2, ${missingLayer}, which the archive does not hold; the archive is incomplete`;

  it("reads Docker 25's answer: an OCI layout with gzip layers, manifest.json after the blobs", async () => {
    const out = join(work, 'from-docker25');
    const src = openLocation('docker-daemon:docker25/app:v1', { socket: fakeSocket });
    await copy(src, openTarget(`oci:${out}:v1`));
    const { stdout } = await run('skopeo', ['inspect', `oci:${out}:v1`]);
    expect((JSON.parse(stdout) as { Layers: string[] }).Layers).toEqual(
      layout.images[0]!.layers.map((layer) => layer.digest),
    );
    expect(await configDiffIds(`oci:${out}:v1`)).toEqual(layout.images[0]!.diffIds);
  });

  it('from a daemon: an error naming the layer, and nothing written', async () => {
    const out = join(work, 'never-broken-daemon');
    const src = openLocation('docker-daemon:fixture/app:v1', { socket: fakeSocket });
    await expect(copy(src, openTarget(`oci:${out}:v1`))).rejects.toMatchObject({
      code: 'LAYER_INVALID',
      message: layerMessage(`docker-daemon:fixture/app:v1 (the daemon on ${fakeSocket})`),
    });
    expect(await absent(out)).toBe(true);
  });

  it('from a docker-archive: file into the daemon: an error naming the layer, and no image loaded', async () => {
    const dst = openLocation('docker-daemon:concil/never:v1', { socket: podman.socketPath });
    await expect(copy(openTarget(`docker-archive:${broken}`), dst)).rejects.toMatchObject({
      code: 'LAYER_INVALID',
      message: layerMessage(`docker-archive:${broken}`),
    });
    expect(await podman.podman(['images', '--format', '{{.Repository}}:{{.Tag}}'])).not.toContain(
      'concil/never',
    );
  });

  it('a layer that fails its diff_id while it streams into the daemon: the upload breaks off, no image loaded', async () => {
    const dst = openLocation('docker-daemon:concil/corrupt:v1', { socket: podman.socketPath });
    await expect(copy(openTarget(`docker-archive:${corrupt}`), dst)).rejects.toMatchObject({
      code: 'DIFF_ID_MISMATCH',
    });
    expect(await podman.podman(['images', '--format', '{{.Repository}}:{{.Tag}}'])).not.toContain(
      'concil/corrupt',
    );
  });

  it('from a daemon whose answer breaks off: an error that says so, and nothing written', async () => {
    const out = join(work, 'never-broken-off');
    const src = openLocation('docker-daemon:fixture/broken-off:v1', { socket: fakeSocket });
    await expect(copy(src, openTarget(`oci:${out}:v1`))).rejects.toMatchObject({
      code: 'DAEMON_FAILED',
      message: expect.stringMatching(
        new RegExp(
          `^docker-daemon:fixture/broken-off:v1 \\(the daemon on ${fakeSocket}\\): the daemon's answer broke off \\(.+\\); try again$`,
        ),
      ),
    });
    expect(await absent(out)).toBe(true);
  });

  it('into a daemon that answers the load with an error line (as docker does): the error, said', async () => {
    loadAnswer = '{"errorDetail":{"message":"no space left on device"},"error":"no space left on device"}\n';
    const dst = openLocation('docker-daemon:concil/refused:v1', { socket: fakeSocket });
    await expect(copy(openTarget(`oci:${layout.dir}:${layout.tag}`), dst)).rejects.toMatchObject({
      code: 'DAEMON_FAILED',
      message: `the daemon on ${fakeSocket} did not load the image: no space left on device`,
    });
  });

  it('into a daemon that says it loaded the image but has no such tag: an error, not a success', async () => {
    loadAnswer = '{"stream":"Loaded image: docker.io/concil/lying:v1"}\n';
    const dst = openLocation('docker-daemon:concil/lying:v1', { socket: fakeSocket });
    await expect(copy(openTarget(`oci:${layout.dir}:${layout.tag}`), dst)).rejects.toMatchObject({
      code: 'DAEMON_FAILED',
      message: `docker-daemon:concil/lying:v1: the daemon on ${fakeSocket} said it loaded the image, but has no docker.io/concil/lying:v1`,
    });
  });

  it('into a daemon whose tag still names another image after the load: an error naming its layers', async () => {
    loadAnswer = '{"stream":"Loaded image: docker.io/concil/stale:v1"}\n';
    const dst = openLocation('docker-daemon:concil/stale:v1', { socket: fakeSocket });
    await expect(copy(openTarget(`oci:${layout.dir}:${layout.tag}`), dst)).rejects.toMatchObject({
      code: 'DAEMON_FAILED',
      message: `docker-daemon:concil/stale:v1: the daemon on ${fakeSocket} said it loaded the image, but its docker.io/concil/stale:v1 has other layers (${staleLayer})`,
    });
  });
});
