import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  computeDigest,
  type Descriptor,
  encodeManifest,
  type ImageManifest,
  MediaType,
} from '@concil/oci-spec';
import type { RegistryClient } from '../client.js';

export interface Blob {
  descriptor: Descriptor;
  bytes: Buffer;
}

export function makeBlob(bytes: Buffer, mediaType: string = MediaType.ociLayerGzip): Blob {
  return { descriptor: { mediaType, digest: computeDigest(bytes), size: bytes.length }, bytes };
}

export function randomBlob(size: number, mediaType?: string): Blob {
  return makeBlob(randomBytes(size), mediaType);
}

export interface SmallImage {
  config: Blob;
  layers: Blob[];
  manifest: { descriptor: Descriptor; bytes: Uint8Array };
}

/** A tiny image: a config and one or more random layers (not real tars; registries do not look). */
export function makeImage(layerSizes: number[] = [2048], extra: Partial<ImageManifest> = {}): SmallImage {
  const config = makeBlob(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: layerSizes.map((_, i) => computeDigest(`layer-${i}`)) },
        config: {},
      }),
    ),
    MediaType.ociConfig,
  );
  const layers = layerSizes.map((size) => randomBlob(size));
  const document = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: config.descriptor,
    layers: layers.map((layer) => layer.descriptor),
    ...extra,
  } as ImageManifest;
  return { config, layers, manifest: encodeManifest(document, MediaType.ociManifest) };
}

/** Pushes an image's blobs and its manifest under `tag` with the client. */
export async function pushImage(
  client: RegistryClient,
  repository: string,
  image: SmallImage,
  tag: string,
): Promise<void> {
  for (const blob of [image.config, ...image.layers]) {
    await client.pushBlob(repository, blob.descriptor, Readable.from([blob.bytes]));
  }
  await client.putManifest(repository, tag, image.manifest.bytes, MediaType.ociManifest);
}

export async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A stream that yields `bytes` in small pieces, to exercise chunk boundaries. */
export function piecewise(bytes: Buffer, piece = 7000): Readable {
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += piece)
    pieces.push(bytes.subarray(offset, offset + piece));
  return Readable.from(pieces);
}
