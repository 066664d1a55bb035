// @concil/pipeline: occystrap's sources, filters and sinks, each a target or a layer transform of
// @concil/image's one copy engine (see README.md).
export { DaemonLoad } from './daemon-load.js';
export { DockerDaemon, type DockerDaemonOptions } from './docker-daemon.js';
export { DEFAULT_DOCKER_SOCKET, DockerEngine, type EngineImage } from './docker-engine.js';
export { PipelineError, type PipelineErrorCode } from './errors.js';
export {
  closeLocation,
  type LocationSpec,
  type OpenLocationOptions,
  openLocation,
  parseLocation,
} from './open-location.js';
