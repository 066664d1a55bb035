import { encodeManifest, type ImageManifest, MediaType, parseManifest } from '@concil/oci-spec';
import { ImageError } from './errors.js';
import { type EncodedContent, inFlavour } from './rewrite-image.js';

/**
 * A Docker v2s2 manifest as OCI, as skopeo converts it: media types only (the manifest's, the
 * config's, each layer's), the blobs and every other field unchanged. The bytes are new, so the
 * digest changes. (An index around converted manifests is `rewriteIndex`'s work.)
 */
export function convertManifestToOci(bytes: Uint8Array): EncodedContent {
  const parsed = parseManifest(bytes, MediaType.dockerManifest);
  if (parsed.kind !== 'manifest') {
    throw new ImageError('UNSUPPORTED', 'convertManifestToOci converts image manifests, not indexes');
  }
  const manifest: ImageManifest = {
    ...parsed.manifest,
    mediaType: MediaType.ociManifest,
    config: { ...parsed.manifest.config, mediaType: ociConfigType(parsed.manifest.config.mediaType) },
    layers: parsed.manifest.layers.map((layer) => inFlavour(layer, 'oci')),
  };
  return encodeManifest(manifest, MediaType.ociManifest);
}

/** Whether a target that holds only OCI manifests needs this manifest or index converted. */
export function isDockerManifest(mediaType: string): boolean {
  return mediaType === MediaType.dockerManifest || mediaType === MediaType.dockerManifestList;
}

function ociConfigType(mediaType: string): string {
  return mediaType === MediaType.dockerConfig ? MediaType.ociConfig : mediaType;
}
