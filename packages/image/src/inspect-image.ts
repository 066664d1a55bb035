import type { Platform, ReadOnlyTarget } from '@concil/oci-spec';
import { isRegistryError, RegistryTarget } from '@concil/registry-client';
import { type ImageDescription, readImage } from './read-image.js';

/** One layer as `skopeo inspect` shows it under `LayersData`. */
export interface InspectedLayer {
  MIMEType: string;
  Digest: string;
  Size: number;
  Annotations: Record<string, string> | null;
}

/** What `skopeo inspect` prints, field for field and in its order. */
export interface ImageInspection {
  /** `host/repository`, for a registry image only (as skopeo). */
  Name?: string;
  /** The digest of the root: the index's, when the image was chosen from one. */
  Digest: string;
  /** Every tag of the repository (a registry image), else empty. */
  RepoTags: string[];
  Created?: string;
  DockerVersion: string;
  Labels: Record<string, string> | null;
  Architecture: string;
  Variant?: string;
  Os: string;
  Layers: string[];
  LayersData: InspectedLayer[];
  Env: string[] | null;
}

export interface InspectImageOptions {
  /** Which image of an index (default: this machine's platform). */
  platform?: Platform;
  /** List the repository's tags for `RepoTags` (default true; skopeo's `--no-tags` is false). */
  tags?: boolean;
}

/** Describes an image in any target as `skopeo inspect` does. */
export async function inspectImage(
  target: ReadOnlyTarget,
  options: InspectImageOptions = {},
): Promise<ImageInspection> {
  const registry = target instanceof RegistryTarget ? target : undefined;
  const listing: Promise<string[]> =
    registry && options.tags !== false ? registry.client.listTags(registry.repository) : Promise.resolve([]);
  listing.catch(() => {}); // awaited below, after the image
  let image: ImageDescription;
  try {
    image = await readImage(target, options.platform ? { platform: options.platform } : {});
  } catch (error) {
    // docker-registry answers MANIFEST_UNKNOWN for a repository it does not have; its tag list says which.
    const listingError = await listing.then(
      () => undefined,
      (e: unknown) => e,
    );
    throw isRegistryError(error, 'MANIFEST_UNKNOWN') && isRegistryError(listingError, 'NAME_UNKNOWN')
      ? listingError
      : error;
  }
  const tags = await listing;
  const { config, manifest } = image;
  const dockerVersion = (config as { docker_version?: unknown }).docker_version;
  return {
    ...(registry && { Name: `${registry.registry}/${registry.repository}` }),
    Digest: (image.index?.descriptor ?? image.descriptor).digest,
    RepoTags: tags,
    ...(config.created !== undefined && { Created: asGoTime(config.created) }),
    DockerVersion: typeof dockerVersion === 'string' ? dockerVersion : '',
    Labels: config.config?.Labels ?? null,
    Architecture: config.architecture,
    ...(config.variant && { Variant: config.variant }),
    Os: config.os,
    Layers: manifest.layers.map((layer) => layer.digest),
    LayersData: manifest.layers.map((layer) => ({
      MIMEType: layer.mediaType,
      Digest: layer.digest,
      Size: layer.size,
      Annotations: layer.annotations ?? null,
    })),
    Env: config.config?.Env ?? null,
  };
}

/** A time as Go prints it back (skopeo parses and re-prints): no trailing zeros in the fraction. */
function asGoTime(time: string): string {
  return time.replace(/^(.*T\d\d:\d\d:\d\d)\.(\d*?)0*(Z|[+-]\d\d:\d\d)$/, (_, base, fraction, zone) =>
    fraction ? `${base}.${fraction}${zone}` : `${base}${zone}`,
  );
}
