export { writeFileAtomic, writeVerifiedFile } from './atomic-file.js';
export { bytesStream } from './bytes-stream.js';
export { type CopyOptions, type CopyProgress, type CopyResult, copy } from './copy.js';
export { ImageError, type ImageErrorCode } from './errors.js';
export { ImageDirectory } from './image-directory.js';
export {
  type ImageInspection,
  type InspectedLayer,
  type InspectImageOptions,
  inspectImage,
} from './inspect-image.js';
export { OciLayout, REF_NAME_ANNOTATION } from './oci-layout.js';
export { type OpenTargetOptions, openTarget } from './open-target.js';
export {
  type ImageDescription,
  type ImageManifestDescription,
  type ReadImageOptions,
  readImage,
  readImageManifest,
} from './read-image.js';
export { hasFileOfSize, openBlobFile } from './read-stream.js';
export { parseTargetSpec, type TargetSpec } from './target-spec.js';
