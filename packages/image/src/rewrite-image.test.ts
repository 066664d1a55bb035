import {
  computeDigest,
  type Descriptor,
  encodeManifest,
  type ImageManifest,
  MediaType,
  parseImageConfig,
} from '@concil/oci-spec';
import { describe, expect, it } from 'vitest';
import type { ImagePlan } from './copy-plan.js';
import { rewriteImage, rewriteIndex } from './rewrite-image.js';

const layer = (n: number, mediaType: string = MediaType.dockerLayerGzip): Descriptor => ({
  mediaType,
  digest: computeDigest(`layer ${n}`),
  size: n,
});

function image(history: object[]) {
  const config = {
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [computeDigest('tar 1'), computeDigest('tar 2')] },
    history,
    'x-unknown': { kept: true },
  };
  const configBytes = new TextEncoder().encode(JSON.stringify(config));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.dockerManifest,
    config: {
      mediaType: MediaType.dockerConfig,
      digest: computeDigest(configBytes),
      size: configBytes.length,
    },
    layers: [layer(1), layer(2)],
  };
  const { bytes, descriptor } = encodeManifest(manifest, MediaType.dockerManifest);
  return {
    descriptor,
    mediaType: MediaType.dockerManifest,
    manifest,
    config: parseImageConfig(configBytes),
    configBytes,
    manifestBytes: bytes,
  };
}

const removeFirst: ImagePlan = { layers: [{ source: 1 }] };

describe('rewriteImage', () => {
  it('keeps every config field it does not own, and a history that does not match the layers', () => {
    const history = [{ created_by: 'only one entry for two layers' }];
    const { config } = rewriteImage(
      image(history),
      removeFirst,
      [{ descriptor: layer(2), diffId: computeDigest('tar 2') }],
      'src',
    );
    const written = JSON.parse(new TextDecoder().decode(config.bytes));
    expect(written).toEqual({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [computeDigest('tar 2')] },
      history,
      'x-unknown': { kept: true },
    });
    expect(config.descriptor).toEqual({
      mediaType: MediaType.dockerConfig,
      digest: computeDigest(config.bytes),
      size: config.bytes.byteLength,
    });
  });

  it('writes OCI when asked, with OCI media types for config and layers', () => {
    const { manifest } = rewriteImage(
      image([]),
      { ...removeFirst, format: 'oci' },
      [{ descriptor: layer(2), diffId: computeDigest('tar 2') }],
      'src',
    );
    const written = JSON.parse(new TextDecoder().decode(manifest.bytes)) as ImageManifest;
    expect(manifest.descriptor.mediaType).toBe(MediaType.ociManifest);
    expect(written.mediaType).toBe(MediaType.ociManifest);
    expect(written.config.mediaType).toBe(MediaType.ociConfig);
    expect(written.layers).toEqual([layer(2, MediaType.ociLayerGzip)]);
  });
});

describe('rewriteIndex', () => {
  const list = encodeManifest(
    {
      schemaVersion: 2,
      mediaType: MediaType.dockerManifestList,
      manifests: [
        { ...layer(1, MediaType.dockerManifest), platform: { os: 'linux', architecture: 'amd64' } },
      ],
    },
    MediaType.dockerManifestList,
  ).bytes;

  it('keeps a Docker manifest list of Docker manifests, and each entry’s platform', () => {
    const child = layer(9, MediaType.dockerManifest);
    const { descriptor, bytes } = rewriteIndex(list, [child]);
    expect(descriptor.mediaType).toBe(MediaType.dockerManifestList);
    expect(JSON.parse(new TextDecoder().decode(bytes)).manifests).toEqual([
      { ...child, platform: { os: 'linux', architecture: 'amd64' } },
    ]);
  });

  it('makes it an OCI index when a child became an OCI manifest', () => {
    const { descriptor, bytes } = rewriteIndex(list, [layer(9, MediaType.ociManifest)]);
    expect(descriptor.mediaType).toBe(MediaType.ociIndex);
    expect(JSON.parse(new TextDecoder().decode(bytes)).mediaType).toBe(MediaType.ociIndex);
  });
});
