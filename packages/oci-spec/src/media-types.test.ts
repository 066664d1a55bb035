import { describe, expect, it } from 'vitest';
import {
  indexMediaTypes,
  isIndexMediaType,
  isManifestMediaType,
  isManifestOrIndexMediaType,
  MediaType,
  manifestAcceptList,
  manifestMediaTypes,
} from './media-types.js';

describe('media types', () => {
  it('tells manifests from indexes from everything else', () => {
    for (const type of [MediaType.ociManifest, MediaType.dockerManifest]) {
      expect([isManifestMediaType(type), isIndexMediaType(type), isManifestOrIndexMediaType(type)]).toEqual([
        true,
        false,
        true,
      ]);
    }
    for (const type of [MediaType.ociIndex, MediaType.dockerManifestList]) {
      expect([isManifestMediaType(type), isIndexMediaType(type), isManifestOrIndexMediaType(type)]).toEqual([
        false,
        true,
        true,
      ]);
    }
    for (const type of [
      MediaType.ociConfig,
      MediaType.ociLayerGzip,
      MediaType.dockerSchema1,
      'application/json',
    ]) {
      expect(isManifestOrIndexMediaType(type)).toBe(false);
    }
  });

  it('accepts every manifest and index type it can read, and not schema 1', () => {
    expect([...manifestAcceptList].sort()).toEqual([...manifestMediaTypes, ...indexMediaTypes].sort());
    expect(manifestAcceptList).toHaveLength(4);
    expect(manifestAcceptList).not.toContain(MediaType.dockerSchema1);
    expect(manifestAcceptList).not.toContain(MediaType.dockerSchema1Signed);
  });
});
