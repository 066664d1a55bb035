import { jsonLooseObject, nonEmptyString, parseJson, validate } from '@concil/oci-spec';
import * as v from 'valibot';
import { ImageError } from './errors.js';

/** One image of a `docker save` archive's `manifest.json`. */
const dockerArchiveImageSchema = jsonLooseObject({
  Config: nonEmptyString,
  RepoTags: v.nullish(v.array(v.string())),
  Layers: v.array(nonEmptyString),
});
const dockerArchiveManifestSchema = v.array(dockerArchiveImageSchema);

export type DockerArchiveImage = v.InferOutput<typeof dockerArchiveImageSchema>;

export function parseDockerArchiveManifest(bytes: Uint8Array, subject: string): DockerArchiveImage[] {
  return validate(
    dockerArchiveManifestSchema,
    parseJson(bytes, 'MANIFEST_INVALID', subject),
    'MANIFEST_INVALID',
    subject,
  );
}

/**
 * `name[:tag]` as `docker save` and skopeo write it in `RepoTags`: the tag `latest` when none is
 * given, Docker Hub's `docker.io/` and `library/` left out, so `busybox` names
 * `docker.io/library/busybox:latest`.
 */
export function normalizeRepoTag(name: string): string {
  const slash = name.lastIndexOf('/');
  const tagged = name.slice(slash + 1).includes(':') ? name : `${name}:latest`;
  return tagged.replace(/^(docker\.io|index\.docker\.io)\//, '').replace(/^library\/(?=[^/]+$)/, '');
}

/**
 * The image of the archive that `name` names in its RepoTags, or the only one when no name is
 * given; an unknown or ambiguous name is an error that lists the names there.
 */
export function selectDockerArchiveImage(
  images: readonly DockerArchiveImage[],
  name: string | undefined,
  where: string,
): DockerArchiveImage {
  const wanted = name === undefined ? undefined : normalizeRepoTag(name);
  const candidates =
    wanted === undefined
      ? images
      : images.filter((image) => image.RepoTags?.some((tag) => normalizeRepoTag(tag) === wanted));
  if (candidates.length === 1) return candidates[0]!;
  const held = images.flatMap((image) => image.RepoTags ?? []);
  const listed = held.length > 0 ? held.join(', ') : 'no names';
  if (images.length === 0) {
    throw new ImageError('NOT_FOUND', `${where}: manifest.json lists no image`, where);
  }
  if (wanted === undefined) {
    throw new ImageError(
      'NOT_FOUND',
      `${where}: the archive holds ${images.length} images (${listed}); name one as docker-archive:FILE:NAME:TAG`,
      where,
    );
  }
  throw new ImageError(
    'NOT_FOUND',
    candidates.length === 0
      ? `${where}: no image named "${name}" in the archive (it holds: ${listed})`
      : `${where}: ${candidates.length} images are named "${name}" in the archive (it holds: ${listed}); the archive is ambiguous`,
    where,
  );
}
