import {
  type Descriptor,
  defaultPlatform,
  type ImageConfig,
  type ImageManifest,
  type Platform,
  parseImageConfig,
  parseManifest,
  selectPlatform,
} from '@concil/oci-spec';
import type { RefRecord } from './refs.js';
import { isEncryptedLayer } from './squashfs-conversion.js';
import type { Store } from './store.js';

export interface CachedLayer {
  descriptor: Descriptor;
  /**
   * The layer as fetched (compressed as its media type says); absent for an encrypted layer, which
   * the store keeps only decrypted, as its squashfs image.
   */
  path?: string;
  /** The digest of its uncompressed tar (from the image config). */
  diffId?: string;
  /** Its squashfs image, when converted. */
  squashfsPath?: string;
}

/** An image the cache holds whole: everything a reader needs, by path. */
export interface CachedImage {
  reference: string;
  /** What the reference resolved to: an index or a manifest. */
  root: Descriptor;
  manifestDescriptor: Descriptor;
  manifest: ImageManifest;
  manifestPath: string;
  configDescriptor: Descriptor;
  config: ImageConfig;
  configPath: string;
  layers: CachedLayer[];
  platform?: Platform;
}

/**
 * Assembles a cached image from the store, or undefined when any part of it is missing (then it
 * has to be pulled). Layers without squashfs have no `squashfsPath`; encrypted layers have only
 * that (the store never keeps their ciphertext).
 */
export async function readCachedImage(
  store: Store,
  reference: string,
  root: Descriptor,
  platform?: Platform,
): Promise<CachedImage | undefined> {
  const manifestDescriptor = await manifestOf(store, root, platform);
  if (!manifestDescriptor) return undefined;
  const manifestBytes = await readWhole(store, manifestDescriptor);
  if (!manifestBytes) return undefined;
  const parsed = parseManifest(manifestBytes, manifestDescriptor.mediaType, manifestDescriptor.digest);
  if (parsed.kind !== 'manifest') return undefined;
  const manifest = parsed.manifest;
  const configBytes = await readWhole(store, manifest.config);
  if (!configBytes) return undefined;
  const config = parseImageConfig(configBytes, manifest.config.digest);
  const diffIds = config.rootfs?.diff_ids ?? [];
  const layers: CachedLayer[] = [];
  for (const [index, layer] of manifest.layers.entries()) {
    const encrypted = isEncryptedLayer(layer.mediaType);
    if (!encrypted && !(await store.hasBlob(layer))) return undefined;
    const squashfsPath = await store.squashfsPath(layer.digest);
    if (encrypted && !squashfsPath) return undefined;
    const diffId = diffIds[index];
    layers.push({
      descriptor: layer,
      ...(!encrypted && { path: store.layout.blobPath(layer.digest) }),
      ...(diffId !== undefined && { diffId }),
      ...(squashfsPath !== undefined && { squashfsPath }),
    });
  }
  return {
    reference,
    root,
    manifestDescriptor,
    manifest,
    manifestPath: store.layout.blobPath(manifestDescriptor.digest),
    configDescriptor: manifest.config,
    config,
    configPath: store.layout.blobPath(manifest.config.digest),
    layers,
    ...(platform && { platform }),
  };
}

async function readWhole(store: Store, desc: Descriptor): Promise<Uint8Array | undefined> {
  if (!(await store.hasBlob(desc))) return undefined;
  return store.readBlobBytes(desc.digest);
}

/** The image manifest of a root: itself, or the platform's entry of an index. */
export async function manifestOf(
  store: Store,
  root: Descriptor,
  platform: Platform | undefined,
): Promise<Descriptor | undefined> {
  const bytes = await readWhole(store, root);
  if (!bytes) return undefined;
  const parsed = parseManifest(bytes, root.mediaType, root.digest);
  if (parsed.kind === 'manifest') return root;
  return selectPlatform(parsed.index, platform ?? defaultPlatform(), root.digest);
}

/** Every blob digest (and layer digest) that a reference keeps alive. */
export async function contentOf(store: Store, record: RefRecord): Promise<Set<string>> {
  const kept = new Set<string>([record.root.digest]);
  const bytes = await store.readBlobBytes(record.root.digest);
  if (!bytes) return kept;
  let manifests: Descriptor[];
  try {
    const parsed = parseManifest(bytes, record.root.mediaType, record.root.digest);
    manifests = parsed.kind === 'manifest' ? [record.root] : parsed.index.manifests;
  } catch {
    return kept;
  }
  for (const desc of manifests) {
    kept.add(desc.digest);
    const manifestBytes = await store.readBlobBytes(desc.digest);
    if (!manifestBytes) continue;
    try {
      const parsed = parseManifest(manifestBytes, desc.mediaType, desc.digest);
      if (parsed.kind !== 'manifest') continue;
      kept.add(parsed.manifest.config.digest);
      for (const layer of parsed.manifest.layers) kept.add(layer.digest);
    } catch {
      // A damaged manifest keeps nothing; verify reports it.
    }
  }
  return kept;
}
