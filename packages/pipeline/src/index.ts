// @concil/pipeline: occystrap's sources, filters and sinks, each a target or a layer transform of
// @concil/image's one copy engine (see README.md).
export { Bundle } from './bundle.js';
export { PipelineError, type PipelineErrorCode } from './errors.js';
export { Extracted } from './extracted.js';
export { Mounts, type MountsOptions, type MountsRecord } from './mounts.js';
export {
  canonicalLocation,
  type Location,
  type OpenLocationOptions,
  openLocation,
  type PipelineTransport,
  parseLocation,
} from './open-location.js';
export { mountImage, unmountImage } from './overlay-mount.js';
export {
  openUnpackingLocation,
  type UnpackingLocationOptions,
  type UnpackingTransport,
} from './unpacking-locations.js';
