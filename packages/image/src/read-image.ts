import {
  type Descriptor,
  defaultPlatform,
  fetchBytes,
  fetchManifest,
  fetchReferencedManifest,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type Platform,
  parseImageConfig,
  type ReadOnlyTarget,
  selectPlatform,
} from '@concil/oci-spec';
import { ImageError } from './errors.js';

export interface ImageManifestDescription {
  /** The image manifest's descriptor (the chosen platform's, when the root is an index). */
  descriptor: Descriptor;
  manifest: ImageManifest;
  /** The index the image was chosen from, if any. */
  index?: { descriptor: Descriptor; index: ImageIndex };
}

export interface ImageDescription extends ImageManifestDescription {
  config: ImageConfig;
}

export interface ReadImageOptions {
  /** A tag or digest (default: what the target was opened with). */
  reference?: string;
  /** Which image of an index (default: this machine's platform). */
  platform?: Platform;
}

/** Reads one image's manifest from any target, choosing a platform from an index. */
export async function readImageManifest(
  target: ReadOnlyTarget,
  options: ReadImageOptions = {},
): Promise<ImageManifestDescription> {
  const root = await fetchReferencedManifest(target, options.reference);
  let descriptor = root.descriptor;
  let parsed = root.manifest;
  let index: ImageDescription['index'];
  if (parsed.kind === 'index') {
    index = { descriptor: root.descriptor, index: parsed.index };
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
  return { descriptor, manifest: parsed.manifest, ...(index && { index }) };
}

/** Reads one image's manifest and config from any target, choosing a platform from an index. */
export async function readImage(
  target: ReadOnlyTarget,
  options: ReadImageOptions = {},
): Promise<ImageDescription> {
  const { descriptor, manifest, index } = await readImageManifest(target, options);
  const config = parseImageConfig(await fetchBytes(target, manifest.config), manifest.config.digest);
  return { descriptor, manifest, config, ...(index && { index }) };
}
