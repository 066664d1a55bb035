// @concil/pipeline: occystrap's sources, filters and sinks, each a target or a layer transform of
// @concil/image's one copy engine (see README.md).
export { Bundle } from './bundle.js';
export { DaemonLoad } from './daemon-load.js';
export { DiscardTarget } from './discard-target.js';
export { DockerDaemon, type DockerDaemonOptions } from './docker-daemon.js';
export { DEFAULT_DOCKER_SOCKET, DockerEngine, type EngineImage } from './docker-engine.js';
export type { EntryFilter, EntryPass, FilteredEntry } from './entry-filter.js';
export { PipelineError, type PipelineErrorCode } from './errors.js';
export { exclude } from './exclude.js';
export { Extracted } from './extracted.js';
export { type FilteredImage, FilterRun } from './filter-run.js';
export {
  FILTERS,
  type FilterName,
  type ParseFilterOptions,
  parseFilter,
  parseFilters,
} from './filter-spec.js';
export { filterTransform } from './filter-transform.js';
export { InspectFilter, type LayerInspection } from './inspect.js';
export { canonicalLocation, type PipelineTransport, pipelineTransportOf } from './location-spec.js';
export { Mounts, type MountsOptions, type MountsRecord } from './mounts.js';
export { normalizeTimestamps } from './normalize-timestamps.js';
export {
  closeLocation,
  type Location,
  type OpenLocationOptions,
  openLocation,
  parseLocation,
} from './open-location.js';
export { mountImage, unmountImage } from './overlay-mount.js';
export { type ReadThroughOptions, readThrough } from './read-through.js';
export { SearchFilter, type SearchMatch } from './search.js';
export {
  openUnpackingLocation,
  type UnpackingLocationOptions,
  type UnpackingTransport,
} from './unpacking-locations.js';
