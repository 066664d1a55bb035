import { lstat, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { OciLayout } from '@concil/image';
import { computeDigest, type Descriptor, encodeManifest, MediaType } from '@concil/oci-spec';
import tarStream from 'tar-stream';
import { afterEach, beforeEach } from 'vitest';

/** One entry of a test layer, written exactly as given (no sorting, no name cleaning: hostile ones too). */
export type RawEntry = Partial<tarStream.Header> & { name: string; content?: Uint8Array | string };

/** A tar of `entries` in their order. */
export async function rawTar(entries: readonly RawEntry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (chunk) => {
      chunks.push(chunk as Buffer);
    });
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const { content, ...header } of entries) {
    const full = { mtime: new Date('2024-01-01T00:00:00Z'), uid: 0, gid: 0, mode: 0o644, ...header };
    if (content === undefined) pack.entry(full);
    else pack.entry(full, Buffer.from(content));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export interface TestImage {
  layout: string;
  manifest: Descriptor;
  layers: Descriptor[];
  diffIds: string[];
}

/**
 * Writes an OCI layout at `dir` holding one image of the given layer tars (gzip-compressed) and
 * container config, tagged `tag`.
 */
export async function writeImage(
  dir: string,
  tars: readonly Buffer[],
  container: Record<string, unknown> = {},
  tag = 'latest',
): Promise<TestImage> {
  const target = new OciLayout(dir, tag);
  const push = async (mediaType: string, bytes: Uint8Array): Promise<Descriptor> => {
    const desc = { mediaType, digest: computeDigest(bytes), size: bytes.byteLength };
    if (!(await target.exists(desc))) await target.push(desc, Readable.from([Buffer.from(bytes)]));
    return desc;
  };
  const layers: Descriptor[] = [];
  for (const tar of tars) layers.push(await push(MediaType.ociLayerGzip, gzipSync(tar)));
  const diffIds = tars.map((tar) => computeDigest(tar));
  const config = {
    architecture: 'amd64',
    os: 'linux',
    config: container,
    rootfs: { type: 'layers', diff_ids: diffIds },
  };
  const configDesc = await push(MediaType.ociConfig, Buffer.from(JSON.stringify(config)));
  const { bytes } = encodeManifest(
    { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers },
    MediaType.ociManifest,
  );
  const manifest = await push(MediaType.ociManifest, bytes);
  await target.tag(manifest, tag);
  await target.commit?.();
  return { layout: dir, manifest, layers, diffIds };
}

/** A new temporary directory for each test of the file, removed after it: call at the top level. */
export function directoryPerTest(): () => string {
  let dir: string | undefined;
  beforeEach(async () => {
    dir = await temporaryDirectory();
  });
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (!dir) throw new Error('directoryPerTest: asked for outside a test');
    return dir;
  };
}

export async function temporaryDirectory(prefix = 'concil-pipeline-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A tree as path → what it is (`dir 755`, `file 644 <content>`, `symlink target`, `char 0/0`). */
export async function describeTree(root: string): Promise<Map<string, string>> {
  const tree = new Map<string, string>();
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = prefix ? `${prefix}/${name}` : name;
      const full = join(dir, name);
      const own = await lstat(full);
      const mode = (own.mode & 0o7777).toString(8);
      if (own.isDirectory()) {
        tree.set(path, `dir ${mode}`);
        await walk(full, path);
      } else if (own.isSymbolicLink()) tree.set(path, `symlink ${await readlink(full)}`);
      else if (own.isFile()) tree.set(path, `file ${mode} ${(await readFile(full)).toString('utf8')}`);
      else if (own.isCharacterDevice()) tree.set(path, `char ${own.rdev}`);
      else tree.set(path, `other ${own.mode.toString(8)}`);
    }
  };
  await walk(root, '');
  return tree;
}
