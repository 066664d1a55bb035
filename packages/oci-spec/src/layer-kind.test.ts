import { describe, expect, it } from 'vitest';
import { type LayerKind, layerKindOf, layerMediaType } from './layer-kind.js';
import { MediaType } from './media-types.js';

const kind = (compression: LayerKind['compression'], more: Partial<LayerKind> = {}): LayerKind => ({
  compression,
  encrypted: false,
  nondistributable: false,
  ...more,
});

describe('layerKindOf', () => {
  it.each([
    [MediaType.ociLayerTar, kind('none')],
    [MediaType.ociLayerGzip, kind('gzip')],
    [MediaType.ociLayerZstd, kind('zstd')],
    [MediaType.ociLayerSquashfs, kind('squashfs')],
    [MediaType.ociLayerNondistTar, kind('none', { nondistributable: true })],
    [MediaType.ociLayerNondistGzip, kind('gzip', { nondistributable: true })],
    [MediaType.ociLayerNondistZstd, kind('zstd', { nondistributable: true })],
    [MediaType.dockerLayerGzip, kind('gzip')],
    [MediaType.dockerLayerForeignGzip, kind('gzip', { nondistributable: true })],
    [MediaType.dockerLayerTar, kind('none')],
    [MediaType.dockerLayerZstd, kind('zstd')],
    [MediaType.dockerLayerForeignTar, kind('none', { nondistributable: true })],
    [`${MediaType.ociLayerGzip}+encrypted`, kind('gzip', { encrypted: true })],
    [`${MediaType.ociLayerZstd}+encrypted`, kind('zstd', { encrypted: true })],
    [`${MediaType.ociLayerTar}+encrypted`, kind('none', { encrypted: true })],
    [`${MediaType.ociLayerNondistGzip}+encrypted`, kind('gzip', { encrypted: true, nondistributable: true })],
  ])('knows %s', (mediaType, expected) => {
    expect(layerKindOf(mediaType)).toEqual(expected);
  });

  it.each([
    MediaType.ociConfig,
    MediaType.ociManifest,
    'application/octet-stream',
    '',
    '+encrypted',
    `${MediaType.ociLayerGzip}+encrypted+encrypted`,
  ])('does not take %j for a layer', (mediaType) => {
    expect(layerKindOf(mediaType)).toBeUndefined();
  });
});

describe('layerMediaType', () => {
  it('writes OCI media types by default', () => {
    expect(layerMediaType(kind('none'))).toBe(MediaType.ociLayerTar);
    expect(layerMediaType(kind('gzip'))).toBe(MediaType.ociLayerGzip);
    expect(layerMediaType(kind('zstd'))).toBe(MediaType.ociLayerZstd);
    expect(layerMediaType(kind('squashfs'))).toBe(MediaType.ociLayerSquashfs);
    expect(layerMediaType(kind('gzip', { nondistributable: true }))).toBe(MediaType.ociLayerNondistGzip);
    expect(layerMediaType(kind('zstd', { encrypted: true }))).toBe(`${MediaType.ociLayerZstd}+encrypted`);
  });

  it('writes Docker media types for gzip layers in the docker flavour, OCI ones otherwise', () => {
    expect(layerMediaType(kind('gzip'), 'docker')).toBe(MediaType.dockerLayerGzip);
    expect(layerMediaType(kind('gzip', { nondistributable: true }), 'docker')).toBe(
      MediaType.dockerLayerForeignGzip,
    );
    expect(layerMediaType(kind('zstd'), 'docker')).toBe(MediaType.ociLayerZstd);
    expect(layerMediaType(kind('none'), 'docker')).toBe(MediaType.ociLayerTar);
  });

  it('refuses a non-distributable squashfs layer, which has no media type', () => {
    expect(() => layerMediaType(kind('squashfs', { nondistributable: true }))).toThrow(/non-distributable/);
  });

  it('round-trips every kind it can name', () => {
    for (const compression of ['none', 'gzip', 'zstd', 'squashfs'] as const) {
      for (const encrypted of [false, true]) {
        for (const nondistributable of [false, true]) {
          if (compression === 'squashfs' && nondistributable) continue;
          for (const flavour of ['oci', 'docker'] as const) {
            const k = { compression, encrypted, nondistributable };
            expect(layerKindOf(layerMediaType(k, flavour))).toEqual(k);
          }
        }
      }
    }
  });
});
