import { OciSpecError } from './errors.js';
import { ENCRYPTED_SUFFIX, MediaType } from './media-types.js';

/** A layer's format independent of the manifest flavour that names it. */
export type LayerCompression = 'none' | 'gzip' | 'zstd' | 'squashfs';

export interface LayerKind {
  compression: LayerCompression;
  encrypted: boolean;
  nondistributable: boolean;
}

export type ManifestFlavour = 'oci' | 'docker';

const ociTypes: Record<LayerCompression, [string, string | undefined]> = {
  none: [MediaType.ociLayerTar, MediaType.ociLayerNondistTar],
  gzip: [MediaType.ociLayerGzip, MediaType.ociLayerNondistGzip],
  zstd: [MediaType.ociLayerZstd, MediaType.ociLayerNondistZstd],
  squashfs: [MediaType.ociLayerSquashfs, undefined],
};

const kindByBaseType = new Map<string, Omit<LayerKind, 'encrypted'>>([
  ...Object.entries(ociTypes).flatMap(([compression, [plain, nondist]]) => {
    const c = compression as LayerCompression;
    const rows: [string, Omit<LayerKind, 'encrypted'>][] = [
      [plain, { compression: c, nondistributable: false }],
    ];
    if (nondist) rows.push([nondist, { compression: c, nondistributable: true }]);
    return rows;
  }),
  [MediaType.dockerLayerGzip, { compression: 'gzip', nondistributable: false }],
  [MediaType.dockerLayerForeignGzip, { compression: 'gzip', nondistributable: true }],
  [MediaType.dockerLayerTar, { compression: 'none', nondistributable: false }],
  [MediaType.dockerLayerZstd, { compression: 'zstd', nondistributable: false }],
  [MediaType.dockerLayerForeignTar, { compression: 'none', nondistributable: true }],
]);

/** The generic kind of a layer media type, or undefined when it is not a layer type we know. */
export function layerKindOf(mediaType: string): LayerKind | undefined {
  const encrypted = mediaType.endsWith(ENCRYPTED_SUFFIX);
  const base = encrypted ? mediaType.slice(0, -ENCRYPTED_SUFFIX.length) : mediaType;
  const kind = kindByBaseType.get(base);
  return kind && { ...kind, encrypted };
}

/**
 * The concrete media type of a layer kind in a manifest flavour. Docker's schema 2 knows only
 * gzip layers; other kinds are written with OCI media types, as skopeo and buildkit do.
 */
export function layerMediaType(kind: LayerKind, flavour: ManifestFlavour = 'oci'): string {
  let base: string | undefined;
  if (flavour === 'docker' && kind.compression === 'gzip') {
    base = kind.nondistributable ? MediaType.dockerLayerForeignGzip : MediaType.dockerLayerGzip;
  } else {
    const [plain, nondist] = ociTypes[kind.compression];
    base = kind.nondistributable ? nondist : plain;
  }
  if (!base) {
    throw new OciSpecError(
      'UNSUPPORTED',
      `there is no media type for a non-distributable ${kind.compression} layer; push it as a distributable one`,
    );
  }
  return kind.encrypted ? base + ENCRYPTED_SUFFIX : base;
}
