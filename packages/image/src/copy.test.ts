import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { computeDigest, type Descriptor, encodeManifest, MediaType } from '@concil/oci-spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesStream } from './bytes-stream.js';
import { copy } from './copy.js';
import { ImageDirectory } from './image-directory.js';
import { OciLayout } from './oci-layout.js';
import { example } from './readme.example.js';

const run = promisify(execFile);
let work: string;

/** A tar archive with one regular file, enough for a layer that umoci can unpack. */
function tarWithFile(name: string, content: string): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0);
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${content.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const body = Buffer.alloc(Math.ceil(content.length / 512) * 512);
  body.write(content);
  return Buffer.concat([header, body, Buffer.alloc(1024)]);
}

async function pushBytes(layout: OciLayout, mediaType: string, bytes: Uint8Array): Promise<Descriptor> {
  const desc = { mediaType, digest: computeDigest(bytes), size: bytes.byteLength };
  await layout.push(desc, bytesStream(bytes));
  return desc;
}

/** Writes a two-layer image into an OCI layout, the way any tool would. */
async function makeLayout(path: string, text = 'world'): Promise<Descriptor> {
  const layout = new OciLayout(path, 'v1');
  const tars = [tarWithFile('hello.txt', 'hello\n'), tarWithFile('world.txt', `${text}\n`)];
  const layers = await Promise.all(
    tars.map((tar) => pushBytes(layout, MediaType.ociLayerGzip, gzipSync(tar))),
  );
  const config = {
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: tars.map((tar) => computeDigest(tar)) },
  };
  const configDesc = await pushBytes(layout, MediaType.ociConfig, Buffer.from(JSON.stringify(config)));
  const { bytes, descriptor } = encodeManifest(
    { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers },
    MediaType.ociManifest,
  );
  await layout.push(descriptor, bytesStream(bytes));
  await layout.tag(descriptor);
  return descriptor;
}

/** Every file below a directory, with its size, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = await Promise.all(
    entries
      .filter((entry) => entry.isFile())
      .map(async (entry) => {
        const path = join(entry.parentPath, entry.name);
        return `${path.slice(dir.length)} ${(await stat(path)).size}`;
      }),
  );
  return files.sort();
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-copy-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('copy between local targets', () => {
  it('copies an OCI layout into an image directory that skopeo reads, and back', async () => {
    const root = await makeLayout(join(work, 'src'));
    const dir = join(work, 'dir');
    const result = await copy(new OciLayout(join(work, 'src'), 'v1'), new ImageDirectory(dir));
    expect(result).toMatchObject({ descriptor: { digest: root.digest }, blobsCopied: 3, blobsSkipped: 0 });
    expect(await readFile(join(dir, 'version'), 'utf8')).toBe('Directory Transport Version: 1.1\n');
    expect(computeDigest(await readFile(join(dir, 'manifest.json')))).toBe(root.digest);

    const { stdout } = await run('skopeo', ['inspect', '--raw', `dir:${dir}`]);
    expect(computeDigest(stdout)).toBe(root.digest);
    await run('skopeo', ['copy', '-q', `dir:${dir}`, `oci:${join(work, 'by-skopeo')}:t`]);

    const back = join(work, 'back');
    await copy(new ImageDirectory(dir), new OciLayout(back, 'latest'));
    await run('umoci', ['unpack', '--rootless', '--image', `${back}:latest`, join(work, 'bundle')]);
    expect(await readFile(join(work, 'bundle', 'rootfs', 'world.txt'), 'utf8')).toBe('world\n');
  });

  it('skips blobs the destination already has', async () => {
    const dir = join(work, 'dir');
    const result = await copy(new OciLayout(join(work, 'src'), 'v1'), new ImageDirectory(dir));
    expect(result).toMatchObject({ blobsCopied: 0, blobsSkipped: 3 });
    const { stdout } = await run('skopeo', ['inspect', `dir:${dir}`]);
    expect(JSON.parse(stdout).Layers).toHaveLength(2);
  });

  it('leaves the destination as it was when a source blob is corrupt', async () => {
    const src = join(work, 'corrupt');
    const root = await makeLayout(src, 'other');
    const manifest = JSON.parse(await readFile(join(src, 'blobs', 'sha256', root.digest.slice(7)), 'utf8'));
    const layer = join(src, 'blobs', 'sha256', manifest.layers[1].digest.slice(7));
    const bytes = await readFile(layer);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    await writeFile(layer, bytes);

    const dst = join(work, 'untouched');
    await copy(new OciLayout(join(work, 'src'), 'v1'), new ImageDirectory(dst));
    const before = (await readdir(dst)).sort();
    await expect(copy(new OciLayout(src, 'v1'), new ImageDirectory(dst))).rejects.toMatchObject({
      code: 'DIGEST_INVALID',
      message: expect.stringMatching(
        new RegExp(`^content of ${manifest.layers[1].digest} hashes to sha256:`),
      ),
    });
    expect((await readdir(dst)).sort()).toEqual(before);
    expect((await readdir(work)).filter((name) => name.includes('.concil-'))).toEqual([]);
  });

  it('takes back the blobs a failed copy added to an OCI layout, and keeps what was there', async () => {
    const existing = join(work, 'existing-layout');
    await makeLayout(existing, 'kept');
    const before = await filesUnder(existing);
    const index = await readFile(join(existing, 'index.json'));
    await expect(
      copy(new OciLayout(join(work, 'corrupt'), 'v1'), new OciLayout(existing, 'v2')),
    ).rejects.toThrow(expect.objectContaining({ code: 'DIGEST_INVALID' }));
    expect(await filesUnder(existing)).toEqual(before);
    expect(await readFile(join(existing, 'index.json'))).toEqual(index);

    const fresh = join(work, 'fresh-layout');
    await expect(
      copy(new OciLayout(join(work, 'corrupt'), 'v1'), new OciLayout(fresh, 'v1')),
    ).rejects.toThrow(expect.objectContaining({ code: 'DIGEST_INVALID' }));
    await expect(readdir(fresh)).rejects.toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('refuses to overwrite a directory that is not an image directory', async () => {
    const personal = join(work, 'personal');
    await run('mkdir', ['-p', personal]);
    await writeFile(join(personal, 'notes.txt'), 'keep me');
    await expect(copy(new OciLayout(join(work, 'src'), 'v1'), new ImageDirectory(personal))).rejects.toThrow(
      /not an image directory/,
    );
    expect(await readFile(join(personal, 'notes.txt'), 'utf8')).toBe('keep me');
  });

  it('runs the README example', async () => {
    await makeLayout(join(work, 'example-src'));
    const { result, config, manifest } = await example(join(work, 'example-src'), join(work, 'example-dir'));
    expect(result.blobsCopied).toBe(3);
    expect(config.os).toBe('linux');
    expect(manifest.layers).toHaveLength(2);
  });
});
