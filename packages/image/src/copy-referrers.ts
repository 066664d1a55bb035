import {
  type Descriptor,
  fetchManifest,
  findReferrers,
  isNotFound,
  type ReadOnlyTarget,
  type ReferrerLister,
  referrersTag,
  type Target,
} from '@concil/oci-spec';
import { copy } from './copy.js';
import { ImageError } from './errors.js';

/** cosign's classic attachments of an image: signatures, attestations, SBOMs (`sha256-<hex>.sig`…). */
const CLASSIC_SUFFIXES = ['sig', 'att', 'sbom'] as const;
/** Referrers of referrers (a signature on an SBOM …) are followed this deep. */
const MAX_DEPTH = 3;

export interface CopyReferrersOptions {
  concurrency?: number;
  signal?: AbortSignal;
}

/** One attachment copied: under its classic tag, or as a referrer (by digest, with its subject). */
export interface CopiedReferrer {
  subject: string;
  digest: string;
  /** The classic tag (`sha256-<hex>.sig`), or undefined for a referrer. */
  tag?: string;
  artifactType?: string;
}

/**
 * Copies what is attached to the manifests `subjects` along with them: cosign's classic tags
 * (`sha256-<hex>.sig`, `.att`, `.sbom`) under the same tags, and every referrer (OCI 1.1
 * `subject`: Sigstore bundles, attestations, SBOMs …), whether the source lists them through the
 * referrers API or the referrers tag schema. The destination registry takes each referrer
 * through its API, or — the registry client does it — into its tag schema index where it has no
 * API: the copy translates between the two. Referrers of referrers are followed too.
 */
export async function copyReferrers(
  src: ReadOnlyTarget,
  dst: Target,
  subjects: readonly string[],
  options: CopyReferrersOptions = {},
): Promise<CopiedReferrer[]> {
  if (typeof (dst as Partial<ReferrerLister>).referrers !== 'function') {
    throw new ImageError(
      'UNSUPPORTED',
      `${dst.name} keeps no referrers (only a registry does): copy the image with its signatures to a registry, or without --referrers`,
      dst.name,
    );
  }
  const copied: CopiedReferrer[] = [];
  const seen = new Set<string>();
  const copyOptions = {
    all: true,
    ...(options.concurrency !== undefined && { concurrency: options.concurrency }),
    ...(options.signal && { signal: options.signal }),
  };
  const visit = async (subject: string, depth: number): Promise<void> => {
    if (seen.has(subject) || depth > MAX_DEPTH) return;
    seen.add(subject);
    for (const suffix of CLASSIC_SUFFIXES) {
      const tag = `${referrersTag(subject)}.${suffix}`;
      const found = await resolveIfThere(src, tag);
      if (!found || found.digest === subject) continue; // a target that ignores tags answers its image
      await copy(src, dst, { ...copyOptions, reference: tag, dstReference: tag });
      copied.push({ subject, digest: found.digest, tag });
    }
    for (const referrer of await findReferrers(
      src,
      subject,
      options.signal ? { signal: options.signal } : {},
    )) {
      const parsed = await fetchManifest(src, referrer);
      const document = parsed.kind === 'manifest' ? parsed.manifest : parsed.index;
      if (document.subject?.digest !== subject) continue; // a tag schema index that lies is not followed
      await copy(src, dst, { ...copyOptions, reference: referrer.digest, dstReference: referrer.digest });
      copied.push({
        subject,
        digest: referrer.digest,
        ...(referrer.artifactType !== undefined && { artifactType: referrer.artifactType }),
      });
      await visit(referrer.digest, depth + 1);
    }
  };
  for (const subject of subjects) await visit(subject, 0);
  return copied;
}

async function resolveIfThere(target: ReadOnlyTarget, tag: string): Promise<Descriptor | undefined> {
  try {
    return await target.resolve(tag);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
