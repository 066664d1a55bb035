export { addLayer } from './add-layer.js';
export {
  moveContentAddressedFile,
  writeContentAddressedFile,
  writeFileAtomic,
  writeVerifiedFile,
} from './atomic-file.js';
export { bytesStream } from './bytes-stream.js';
export { type ConfigEdits, editConfig, parseCommand, parsePairs } from './config-edit.js';
export { convertLayer, convertLayers } from './convert-layers.js';
export { convertManifestToOci } from './convert-to-oci.js';
export { type CopyOptions, type CopyProgress, type CopyResult, copy, type DerivedLayer } from './copy.js';
export type { ImageEditor, ImagePlan, ImageToEdit, PlannedLayer } from './copy-plan.js';
export { type CopiedReferrer, type CopyReferrersOptions, copyReferrers } from './copy-referrers.js';
export { directoryToTar } from './directory-tar.js';
export { DockerArchive, DockerArchiveReader } from './docker-archive.js';
export { normalizeRepoTag } from './docker-archive-manifest.js';
export { editImage, hasEdits, type ImageEdits } from './edit-image.js';
export {
  addRecipients,
  type DecryptLayersOptions,
  decryptLayer,
  decryptLayers,
  type EncryptLayersOptions,
  encryptLayer,
  encryptLayers,
  type LayerDecryption,
  openLayerDecryptions,
  readingDecrypted,
} from './encryption/encrypt-layers.js';
export {
  type DecryptionKey,
  type EncryptionKey,
  generateEncryptionKey,
  type PrivateKeyOptions,
  parseDecryptionKey,
  parseEncryptionKey,
  readDecryptionKey,
  readEncryptionKey,
} from './encryption/encryption-keys.js';
export { countRecipients } from './encryption/key-wrap.js';
export { layerDecryption, layerEncryption, recipientAddition } from './encryption/layer-encryption.js';
export { JWE_KEYS_ANNOTATION, PUBOPTS_ANNOTATION } from './encryption/layer-options.js';
export { ImageError, type ImageErrorCode } from './errors.js';
export { ImageDirectory } from './image-directory.js';
export { ingestBlob, ingestWrittenFile } from './ingest-blob.js';
export {
  type ImageInspection,
  type InspectedLayer,
  type InspectImageOptions,
  inspectImage,
} from './inspect-image.js';
export { DEFAULT_ENCODING, encodeLayer, type LayerEncoding, writeSquashfsFile } from './layer-encode.js';
export { type BlobFilter, type FilteredBlob, filterLayer, thenFilter } from './layer-filter.js';
export { resolveLayerName, resolveLayerNames, TITLE_ANNOTATION } from './layer-names.js';
export { type LayerSourceKind, layerSourceKind, layerSourceTar } from './layer-source.js';
export { type LayerTarEntry, layerEntries, openLayerTar } from './layer-tar.js';
export type { LayerTransform, SourceLayer, TransformContext, TransformedLayer } from './layer-transform.js';
export { REF_NAME_ANNOTATION } from './layout-index.js';
export { isAlive } from './leftovers.js';
export { mergeLayers } from './merge-layers.js';
export { OciArchive } from './oci-archive.js';
export { OciLayout } from './oci-layout.js';
export { type Image, type Layer, type OpenImageOptions, openImage } from './open-image.js';
export { type OpenTargetOptions, openTarget } from './open-target.js';
export { type PublishOptions, type PublishResult, publish } from './publish.js';
export {
  type ImageDescription,
  type ImageManifestDescription,
  type ReadImageOptions,
  readImage,
  readImageManifest,
} from './read-image.js';
export { hasFileOfSize, openBlobFile } from './read-stream.js';
export { TarArchive } from './tar-archive.js';
export { addTarEntry, type PackEntry } from './tar-pack.js';
export { parseTargetSpec, type TargetSpec } from './target-spec.js';
