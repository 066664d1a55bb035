import type { CopyResult, OpenTargetOptions } from '@concil/image';
import type { Platform, ReadOnlyTarget } from '@concil/oci-spec';
import { formatBytes } from './format.js';
import { openLocalStore } from './local-store.js';
import { loadTrustPolicy } from './trust-policy.js';

/**
 * The source of a copy or a publish: a registry image from the local cache when it holds it
 * (unless `cache` is false), else the location itself. A registry source is read through the
 * trust policy: an image it refuses is not copied, from the cache or from the registry.
 */
export async function openCopySource(
  source: string,
  { platform, all, cache }: { platform: Platform | undefined; all: boolean; cache: boolean },
  options: OpenTargetOptions,
  openSource: () => ReadOnlyTarget,
): Promise<ReadOnlyTarget> {
  const policy = source.startsWith('docker://') ? await sourceTrustPolicy() : undefined;
  const guarded = () => {
    const target = openSource();
    return policy ? policy.guard(target) : target;
  };
  return (cache && (await cachedSource(source, { platform, all }, options, guarded))) || guarded();
}

/** What a copy did, in one line: `sha256:… to NAME: 3 blobs (2.1 MB), 0 already there`. */
export function copySummary(result: CopyResult, destination: string): string {
  return (
    `${result.descriptor.digest} to ${destination}: ${result.blobsCopied} blobs (${formatBytes(result.bytesCopied)}), ` +
    `${result.blobsSkipped} already there${result.blobsMounted ? `, ${result.blobsMounted} mounted` : ''}` +
    `${result.layersTransformed ? `, ${result.layersTransformed} layers transformed` : ''}`
  );
}

/**
 * A registry image the local cache holds is read from there, after the store's one HEAD has
 * confirmed that the tag still points at it (and brought the cache up to date if it moved,
 * reaching the registry as the source's flags say). With `all`, every platform of a cached index
 * is read: what the cache holds from it, the rest from the registry.
 */
async function cachedSource(
  source: string,
  { platform, all }: { platform: Platform | undefined; all: boolean },
  options: OpenTargetOptions,
  openRegistry: () => ReadOnlyTarget,
): Promise<ReadOnlyTarget | undefined> {
  if (!source.startsWith('docker://')) return undefined;
  const store = await openLocalStore();
  const selected = platform ? { platform } : {};
  const cached = await store.image(source, selected);
  if (!cached) return undefined;
  try {
    // For `all`, the refresh keeps to the platform cached: the others are read through anyway.
    const refresh = all && cached.platform ? { platform: cached.platform } : selected;
    await store.pull(source, { ...refresh, ...(options.registry && { registry: options.registry }) });
  } catch (error) {
    // A refusal of the trust policy stands; anything else: the registry is read directly (through
    // the policy too), and its error, if any, reported from there.
    if (isTrustRefusal(error)) throw error;
    return undefined;
  }
  return all ? store.cachedIndexTarget(source, openRegistry()) : store.cachedTarget(source, selected);
}

async function sourceTrustPolicy() {
  const { loadConfig } = await import('@concil/store');
  return loadTrustPolicy((await loadConfig()).config);
}

function isTrustRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'TRUST_FAILED' || code === 'TRUST_REQUIRED' || code === 'METHOD_UNAVAILABLE';
}
