import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);
const rootless = process.getuid?.() === 0 ? [] : ['--rootless'];

/** What each layer of the test image adds: path → file content, or `-> target` for a symlink. */
export const LAYERS: readonly Record<string, string>[] = [
  {
    'etc/app.conf': 'port = 8080\n',
    'etc/other.conf': 'x\n',
    'usr/bin/tool': '#!/bin/sh\necho tool\n',
    'var/log/boot.log': 'booted\n',
    'var/cache/app/blob.bin': 'cached\n',
  },
  {
    'app/data,1.txt': 'one, with a comma\n',
    'app/main.py': 'print("hi")\n',
    'app/__pycache__/main.cpython.pyc': 'compiled\n',
    'var/log/app.log': 'started\n',
    'usr/bin/tool-link': '-> tool',
  },
];

/**
 * Builds an image with umoci (whose 0.4.7 writes layer tars without padding or end blocks) in
 * an OCI layout at `layout`, tag `t`: one layer per entry of LAYERS, every file and directory
 * given the mtime `seconds`. Two builds at different times give the same files, other digests.
 */
export async function buildUmociImage(layout: string, seconds: number): Promise<void> {
  await run('umoci', ['init', '--layout', layout]);
  await run('umoci', ['new', '--image', `${layout}:t`]);
  for (const [i, files] of LAYERS.entries()) {
    const bundle = `${layout}-bundle-${i}`;
    await run('umoci', ['unpack', ...rootless, '--image', `${layout}:t`, bundle]);
    const rootfs = join(bundle, 'rootfs');
    const touched = new Set<string>();
    for (const [path, content] of Object.entries(files)) {
      const full = join(rootfs, path);
      await mkdir(dirname(full), { recursive: true });
      if (content.startsWith('-> ')) await symlink(content.slice(3), full);
      else await writeFile(full, content);
      for (let dir = dirname(path); dir !== '.'; dir = dirname(dir)) touched.add(dir);
      if (!content.startsWith('-> ')) touched.add(path);
    }
    for (const path of [...touched, '.']) await utimes(join(rootfs, path), seconds, seconds);
    await run('umoci', ['repack', '--image', `${layout}:t`, bundle]);
    await rm(bundle, { recursive: true, force: true });
  }
}

/** The manifest digest index.json tags `tag` with, and the manifest. */
export async function manifestOf(
  layout: string,
  tag = 't',
): Promise<{
  digest: string;
  manifest: { layers: { digest: string; mediaType: string }[]; config: { digest: string } };
}> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!entry) throw new Error(`${layout} has no tag ${tag}`);
  return {
    digest: entry.digest,
    manifest: JSON.parse(await readFile(blobPath(layout, entry.digest), 'utf8')),
  };
}

export function blobPath(layout: string, digest: string): string {
  return join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

/** `tar -t` (or `-tv` with `verbose`) of a layer blob, through gzip or zstd as its media type says. */
export async function tarList(
  layout: string,
  layer: { digest: string; mediaType: string },
  verbose = false,
): Promise<string[]> {
  const decompress = layer.mediaType.endsWith('+gzip')
    ? '--gzip'
    : layer.mediaType.endsWith('+zstd')
      ? '--zstd'
      : '';
  const args = [
    '--quoting-style=literal', // names as they are, whatever the locale (CI runs with none)
    ...(verbose ? ['--utc', '-tvf'] : ['-tf']),
    blobPath(layout, layer.digest),
    ...(decompress ? [decompress] : []),
  ];
  const { stdout } = await run('tar', args, { maxBuffer: 64 << 20 });
  return stdout.split('\n').filter((line) => line !== '');
}
