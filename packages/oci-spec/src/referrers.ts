import { type FetchOptions, fetchManifest, type ReadOnlyTarget, type ReferrerLister } from './content.js';
import type { Descriptor } from './descriptor.js';
import { parseDigest } from './digest.js';
import { isNotFound } from './errors.js';

/** The referrers tag schema's tag for a subject: `sha256-<hex>`. */
export function referrersTag(subject: string): string {
  const { algorithm, hex } = parseDigest(subject);
  return `${algorithm}-${hex}`;
}

/**
 * The manifests referring to `subject`: the target's own listing (a registry's referrers API, with
 * the tag schema where it has none), else the referrers tag schema index (`sha256-<hex>`).
 */
export async function findReferrers(
  target: ReadOnlyTarget,
  subject: string,
  options: FetchOptions & { artifactType?: string } = {},
): Promise<Descriptor[]> {
  const lister = target as ReadOnlyTarget & Partial<ReferrerLister>;
  if (typeof lister.referrers === 'function') return lister.referrers(subject, options);
  let index: Descriptor;
  try {
    index = await target.resolve(referrersTag(subject));
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  if (index.digest === subject) return []; // a target that ignores references (an image directory)
  const parsed = await fetchManifest(target, index, options);
  if (parsed.kind !== 'index') return [];
  return parsed.index.manifests.filter(
    (each) => options.artifactType === undefined || each.artifactType === options.artifactType,
  );
}
