export type {
  ExistenceChecker,
  Fetcher,
  FetchOptions,
  FileIngester,
  Ingester,
  Pusher,
  ReadOnlyTarget,
  ReferenceFetcher,
  ReferrerLister,
  Resolver,
  SmallContentReader,
  Tagger,
  Target,
} from './content.js';
export { fetchBytes, fetchManifest, fetchReferencedManifest, fetchVerified } from './content.js';
export type { Descriptor, Platform } from './descriptor.js';
export {
  computeDigest,
  computeStreamDigest,
  type Digest,
  type DigestAlgorithm,
  Digester,
  digestHex,
  isDigest,
  openDigester,
  type ParsedDigest,
  parseDigest,
  passWhenDrained,
} from './digest.js';
export { DigestingStream } from './digest-stream.js';
export {
  embeddedContent,
  fetchEmbeddedOrBytes,
  MAX_EMBEDDED_BYTES,
  withEmbeddedContent,
} from './embedded-content.js';
export { isNotFound, OciSpecError, type OciSpecErrorCode } from './errors.js';
export { OFF_THREAD_BYTES, OffThreadDigester, withHashThread } from './hash-thread.js';
export { type HistoryEntry, type ImageConfig, parseImageConfig } from './image-config.js';
export {
  jsonCount,
  jsonInteger,
  jsonLooseObject,
  jsonMap,
  jsonNumber,
  jsonObject,
  jsonRecord,
  jsonStringMap,
  nonEmptyString,
} from './json-schemas.js';
export {
  type LayerCompression,
  type LayerKind,
  layerKindOf,
  layerMediaType,
  type ManifestFlavour,
} from './layer-kind.js';
export {
  encodeManifest,
  type ImageIndex,
  type ImageManifest,
  type ParsedManifest,
  parseManifest,
} from './manifest.js';
export {
  ENCRYPTED_SUFFIX,
  indexMediaTypes,
  isIndexMediaType,
  isManifestMediaType,
  isManifestOrIndexMediaType,
  MediaType,
  manifestAcceptList,
  manifestMediaTypes,
} from './media-types.js';
export { pipeInto } from './pipe-into.js';
export {
  defaultPlatform,
  formatPlatform,
  normalizePlatform,
  parsePlatform,
  platformMatches,
  selectPlatform,
} from './platform.js';
export {
  DOCKER_HUB,
  formatReference,
  hostOf,
  type ImageReference,
  isLoopbackHost,
  isTag,
  manifestReference,
  parseReference,
  registryBaseUrl,
} from './reference.js';
export { findReferrers, referrersTag } from './referrers.js';
export {
  containerConfigSchema,
  descriptorSchema,
  historySchema,
  imageConfigSchema,
  imageIndexSchema,
  imageManifestSchema,
  platformSchema,
} from './schemas.js';
export { issuePath, parseJson, validate } from './validate.js';
export { ensureVerified, VerifyingStream, verifyBytes } from './verify-stream.js';
