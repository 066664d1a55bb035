/** Media types of the OCI image spec and of Docker's image manifest v2 schema 2. */
export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  ociLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistTar: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNondistGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociLayerNondistZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  /** concil's squashfs layers (the Python concil's media type). */
  ociLayerSquashfs: 'application/vnd.oci.image.layer.v1.squashfs',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  /** An uncompressed layer, as `docker save` archives hold them (skopeo names them so too). */
  dockerLayerTar: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerForeignGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  /** Not in Docker's schema 2 document, but written by Docker and containers/image. */
  dockerLayerZstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
  dockerLayerForeignTar: 'application/vnd.docker.image.rootfs.foreign.diff.tar',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export const ENCRYPTED_SUFFIX = '+encrypted';

export const manifestMediaTypes: readonly string[] = [MediaType.ociManifest, MediaType.dockerManifest];
export const indexMediaTypes: readonly string[] = [MediaType.ociIndex, MediaType.dockerManifestList];

export function isManifestMediaType(mediaType: string): boolean {
  return manifestMediaTypes.includes(mediaType);
}

export function isIndexMediaType(mediaType: string): boolean {
  return indexMediaTypes.includes(mediaType);
}

/** Manifests and indexes travel through the manifest endpoints of a registry, everything else as blobs. */
export function isManifestOrIndexMediaType(mediaType: string): boolean {
  return isManifestMediaType(mediaType) || isIndexMediaType(mediaType);
}

/** The `Accept` list a client sends to get any manifest or index it can read. */
export const manifestAcceptList: readonly string[] = [...manifestMediaTypes, ...indexMediaTypes];
