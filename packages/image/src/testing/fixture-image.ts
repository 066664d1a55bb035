import { execFile } from 'node:child_process';
import { readdir, readFile, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { digestHex, type ImageConfig, type ImageManifest } from '@concil/oci-spec';
import { expectedFixtureRootfs } from '@concil/testkit';

export const run = promisify(execFile);

/** Every byte of a stream: for the small content of tests only. */
export async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

export function streamOf(bytes: Uint8Array): Readable {
  return Readable.from([Buffer.from(bytes)]);
}

/** What `umoci unpack` makes of an image in an OCI layout: path → type, and a file's content. */
export async function unpackWithUmoci(
  layout: string,
  tag: string,
  bundle: string,
): Promise<Map<string, string>> {
  const rootless = process.getuid?.() === 0 ? [] : ['--rootless'];
  await run('umoci', ['unpack', ...rootless, '--image', `${layout}:${tag}`, bundle]);
  const tree = new Map<string, string>();
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        tree.set(path, 'directory');
        await walk(full, path);
      } else if (entry.isSymbolicLink()) {
        tree.set(path, `symlink ${await readlink(full)}`);
      } else {
        tree.set(path, `file ${(await readFile(full)).toString('base64')}`);
      }
    }
  };
  await walk(join(bundle, 'rootfs'), '');
  await rm(bundle, { recursive: true, force: true });
  return tree;
}

/** The tree a fixture image of `platform` unpacks to, in the form `unpackWithUmoci` gives. */
export function expectedFixtureTree(platform = 'linux/amd64'): Map<string, string> {
  const tree = new Map<string, string>();
  const entries = expectedFixtureRootfs(platform);
  for (const [path, entry] of entries) {
    if (entry.type === 'directory') tree.set(path, 'directory');
    else if (entry.type === 'symlink') tree.set(path, `symlink ${entry.target}`);
    else {
      const content = entry.type === 'link' ? entries.get(entry.target.replace(/^\/+/, '')) : entry;
      const bytes = content?.type === 'file' ? Buffer.from(content.content) : Buffer.alloc(0);
      tree.set(path, `file ${bytes.toString('base64')}`);
    }
  }
  return tree;
}

export function blobPath(layout: string, digest: string): string {
  return join(layout, 'blobs', 'sha256', digestHex(digest));
}

/** The manifest and config of an image in an OCI layout, as written. */
export async function imageIn(
  layout: string,
  digest: string,
): Promise<{ manifest: ImageManifest; config: ImageConfig }> {
  const manifest = JSON.parse(await readFile(blobPath(layout, digest), 'utf8')) as ImageManifest;
  const config = JSON.parse(await readFile(blobPath(layout, manifest.config.digest), 'utf8')) as ImageConfig;
  return { manifest, config };
}
