export type { CachedImage, CachedLayer } from './cached-image.js';
export {
  type AuthEntry,
  type ConcilConfig,
  type ConfigFile,
  configFileSchema,
  configPath,
  DEFAULT_CACHE_TIMEOUT,
  type LoadedConfig,
  loadConfig,
  maskedConfig,
  parseConfig,
  type RemoteServer,
  remoteServerFor,
  trustRequired,
} from './config.js';
export { StoreError, type StoreErrorCode } from './errors.js';
export type {
  CachedImageInfo,
  GcOptions,
  GcResult,
  PruneOptions,
  VerifyProblem,
  VerifyResult,
} from './gc.js';
export type { LayerRecord } from './layer-record.js';
export { StoreLayout } from './layout.js';
export { ensureSquashfs, type PullOptions, type PullResult, pullImage } from './pull.js';
export { configuredRegistryOptions } from './registry-source.js';
export { DEFAULT_SQUASHFS_OPTIONS, type SquashfsOptions, squashfsConversion } from './squashfs-conversion.js';
export { openStore, Store, type StoreOptions } from './store.js';
export { normalizeReference, StoreTarget, type StoreTargetOptions } from './store-target.js';
export type { TrustVerifier } from './trust.js';
