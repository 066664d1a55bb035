import { randomBytes } from 'node:crypto';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { computeDigest, type Descriptor, MediaType } from '@concil/oci-spec';

/** Test fixtures: images built in memory and pushed to a real registry over its HTTP API. */

export interface FileSpec {
  name: string;
  content: Uint8Array;
}

export interface LayerSpec {
  files: FileSpec[];
  compression?: 'gzip' | 'zstd' | 'none';
  /**
   * Write the tar as umoci 0.4.7 does: it ends right after the last entry's data, with no
   * padding and no end blocks.
   */
  umociStyle?: boolean;
  /** The diff_id the config names for the layer (default: its tar's digest): an inconsistent image. */
  configDiffId?: string;
}

export interface BuiltLayer {
  descriptor: Descriptor;
  bytes: Uint8Array;
  diffId: string;
  names: string[];
}

export interface BuiltImage {
  manifest: Uint8Array;
  manifestDescriptor: Descriptor;
  config: Uint8Array;
  configDescriptor: Descriptor;
  layers: BuiltLayer[];
}

function tarHeader(name: string, size: number, type: '0' | '5'): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write(type === '5' ? '0000755\0' : '0000644\0', 100, 'latin1');
  header.write('0000000\0', 108, 'latin1');
  header.write('0000000\0', 116, 'latin1');
  header.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  header.write(`${(1_700_000_000).toString(8).padStart(11, '0')}\0`, 136, 'latin1');
  header.write('        ', 148, 'latin1');
  header.write(type, 156, 'latin1');
  header.write('ustar\0' + '00', 257, 'latin1');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return header;
}

/** A tar of the files (their parent directories first), as the layer's uncompressed bytes. */
export function makeTar(files: FileSpec[], umociStyle = false): Buffer {
  const parts: Buffer[] = [];
  const dirs = new Set<string>();
  for (const file of files) {
    const segments = file.name.split('/').slice(0, -1);
    for (let i = 1; i <= segments.length; i++) {
      const dir = `${segments.slice(0, i).join('/')}/`;
      if (!dirs.has(dir)) {
        dirs.add(dir);
        parts.push(tarHeader(dir, 0, '5'));
      }
    }
    parts.push(tarHeader(file.name, file.content.byteLength, '0'), Buffer.from(file.content));
    const padding = (512 - (file.content.byteLength % 512)) % 512;
    parts.push(Buffer.alloc(padding));
  }
  if (umociStyle) {
    const last = files.at(-1);
    const padding = last ? (512 - (last.content.byteLength % 512)) % 512 : 0;
    const tar = Buffer.concat(parts);
    return tar.subarray(0, tar.byteLength - padding);
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export function randomFile(name: string, size: number): FileSpec {
  return { name, content: randomBytes(size) };
}

export function buildImage(layers: LayerSpec[], options: { architecture?: string } = {}): BuiltImage {
  const built = layers.map((spec): BuiltLayer => {
    const tar = makeTar(spec.files, spec.umociStyle);
    const compression = spec.compression ?? 'gzip';
    const bytes =
      compression === 'gzip'
        ? gzipSync(tar, { level: 1 })
        : compression === 'zstd'
          ? zstdCompressSync(tar)
          : tar;
    const mediaType = {
      gzip: MediaType.ociLayerGzip,
      zstd: MediaType.ociLayerZstd,
      none: MediaType.ociLayerTar,
    };
    return {
      descriptor: {
        mediaType: mediaType[compression],
        digest: computeDigest(bytes),
        size: bytes.byteLength,
      },
      bytes,
      diffId: computeDigest(tar),
      names: spec.files.map((file) => file.name),
    };
  });
  const config = Buffer.from(
    JSON.stringify({
      architecture: options.architecture ?? 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/bin'] },
      rootfs: { type: 'layers', diff_ids: built.map((layer, i) => layers[i]!.configDiffId ?? layer.diffId) },
    }),
  );
  const configDescriptor: Descriptor = {
    mediaType: MediaType.ociConfig,
    digest: computeDigest(config),
    size: config.byteLength,
  };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: configDescriptor,
      layers: built.map((layer) => layer.descriptor),
    }),
  );
  return {
    manifest,
    manifestDescriptor: {
      mediaType: MediaType.ociManifest,
      digest: computeDigest(manifest),
      size: manifest.byteLength,
    },
    config,
    configDescriptor,
    layers: built,
  };
}

export async function pushBlob(registryUrl: string, repository: string, bytes: Uint8Array, digest: string) {
  const head = await fetch(`${registryUrl}/v2/${repository}/blobs/${digest}`, { method: 'HEAD' });
  if (head.ok) return;
  const start = await fetch(`${registryUrl}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`upload start: ${start.status}`);
  const location = new URL(start.headers.get('location')!, registryUrl);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, {
    method: 'PUT',
    body: bytes,
    headers: { 'content-type': 'application/octet-stream' },
  });
  if (put.status !== 201) throw new Error(`upload ${digest}: ${put.status} ${await put.text()}`);
}

export async function pushManifest(
  registryUrl: string,
  repository: string,
  reference: string,
  bytes: Uint8Array,
  mediaType: string,
): Promise<void> {
  const put = await fetch(`${registryUrl}/v2/${repository}/manifests/${reference}`, {
    method: 'PUT',
    body: bytes,
    headers: { 'content-type': mediaType },
  });
  if (put.status !== 201) throw new Error(`manifest ${reference}: ${put.status} ${await put.text()}`);
}

/** Pushes an image's blobs and manifest and tags it. */
export async function pushImage(registryUrl: string, repository: string, tag: string, image: BuiltImage) {
  for (const layer of image.layers)
    await pushBlob(registryUrl, repository, layer.bytes, layer.descriptor.digest);
  await pushBlob(registryUrl, repository, image.config, image.configDescriptor.digest);
  await pushManifest(registryUrl, repository, tag, image.manifest, MediaType.ociManifest);
}

/** Pushes several platform images under one index, tagged. */
export async function pushIndex(
  registryUrl: string,
  repository: string,
  tag: string,
  images: { image: BuiltImage; architecture: string }[],
): Promise<Descriptor> {
  for (const { image } of images) {
    await pushImage(registryUrl, repository, image.manifestDescriptor.digest, image);
  }
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: images.map(({ image, architecture }) => ({
        ...image.manifestDescriptor,
        platform: { os: 'linux', architecture },
      })),
    }),
  );
  await pushManifest(registryUrl, repository, tag, index, MediaType.ociIndex);
  return { mediaType: MediaType.ociIndex, digest: computeDigest(index), size: index.byteLength };
}
