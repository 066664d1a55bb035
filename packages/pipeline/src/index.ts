// @concil/pipeline: occystrap's sources, filters and sinks, each a target or a layer transform of
// @concil/image's one copy engine (see README.md).
export { DaemonLoad } from './daemon-load.js';
export { DiscardTarget } from './discard-target.js';
export { DockerDaemon, type DockerDaemonOptions } from './docker-daemon.js';
export { DEFAULT_DOCKER_SOCKET, DockerEngine, type EngineImage } from './docker-engine.js';
export type { EntryFilter, EntryPass, FilteredEntry } from './entry-filter.js';
export { PipelineError, type PipelineErrorCode } from './errors.js';
export { exclude } from './exclude.js';
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
export { normalizeTimestamps } from './normalize-timestamps.js';
export {
  canonicalLocation,
  closeLocation,
  type Location,
  type OpenLocationOptions,
  openLocation,
  type PipelineTransport,
  parseLocation,
} from './open-location.js';
export { type ReadThroughOptions, readThrough } from './read-through.js';
export { SearchFilter, type SearchMatch } from './search.js';
