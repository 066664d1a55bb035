import {
  type Descriptor,
  defaultPlatform,
  fetchBytes,
  fetchManifest,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type Platform,
  parseImageConfig,
  type ReadOnlyTarget,
  selectPlatform,
} from '@concil/oci-spec';
import { ImageError } from './errors.js';

export interface ImageDescription {
  /** The image manifest's descriptor (the chosen platform's, when the root is an index). */
  descriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
  /** The index the image was chosen from, if any. */
  index?: { descriptor: Descriptor; index: ImageIndex };
}

/** Reads one image's manifest and config from any target, choosing a platform from an index. */
export async function readImage(
  target: ReadOnlyTarget,
  options: { reference?: string; platform?: Platform } = {},
): Promise<ImageDescription> {
  const root = await target.resolve(options.reference);
  let descriptor = root;
  let parsed = await fetchManifest(target, root);
  let index: ImageDescription['index'];
  if (parsed.kind === 'index') {
    index = { descriptor: root, index: parsed.index };
    descriptor = selectPlatform(parsed.index, options.platform ?? defaultPlatform(), target.name);
    parsed = await fetchManifest(target, descriptor);
  }
  if (parsed.kind !== 'manifest') {
    throw new ImageError(
      'UNSUPPORTED',
      `${target.name}: an index inside an index is not supported`,
      descriptor.digest,
    );
  }
  const config = parseImageConfig(
    await fetchBytes(target, parsed.manifest.config),
    parsed.manifest.config.digest,
  );
  return { descriptor, manifest: parsed.manifest, config, ...(index && { index }) };
}
