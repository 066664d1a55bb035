import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { CopyProgress, DecryptionKey } from '@concil/image';
import {
  computeDigest,
  type Descriptor,
  defaultPlatform,
  fetchBytes,
  formatReference,
  manifestReference,
  type Platform,
  parseDigest,
  parseManifest,
  parsePlatform,
  parseReference,
  type ReadOnlyTarget,
  selectPlatform,
} from '@concil/oci-spec';
import type { OpenRegistryTargetOptions } from '@concil/registry-client';
import { removeLeftovers } from './atomic-file.js';
import { type CachedImage, readCachedImage } from './cached-image.js';
import { trustRequired } from './config.js';
import { StoreError } from './errors.js';
import { readRefRecord, writeRefRecord } from './refs.js';
import {
  DEFAULT_SQUASHFS_OPTIONS,
  isConvertible,
  isEncryptedLayer,
  type SquashfsOptions,
  type StoreDecryption,
  squashfsConversion,
} from './squashfs-conversion.js';
import type { Store } from './store.js';

export interface PullOptions {
  /** The image to take from a multi-platform index: `os/arch[/variant]`; this machine's by default. */
  platform?: Platform | string;
  /** Convert every tar layer to squashfs (zstd level 10 unless told), as it comes in. */
  squashfs?: boolean | SquashfsOptions;
  /** Use only what the cache holds: no request at all. */
  offline?: boolean;
  /** How many blobs download at once. */
  concurrency?: number;
  /** How to reach the registry (credentials, TLS, plain HTTP), over what the configuration says. */
  registry?: OpenRegistryTargetOptions;
  /**
   * Private key files (PEM or JWK) for encrypted layers, tried before the configuration's
   * `decryption_keys`. Keys are read only when an encrypted layer needs them.
   */
  decryptionKeys?: readonly string[];
  /** The password of an encrypted private key file, asked for by its path. */
  keyPassword?: (path: string) => string | Promise<string>;
  signal?: AbortSignal;
  onProgress?: (event: CopyProgress) => void;
}

export interface PullResult extends CachedImage {
  /** True when nothing but the tag's HEAD (or nothing, offline) was asked of the registry. */
  fromCache: boolean;
  blobsCopied: number;
  bytesCopied: number;
}

/**
 * Pulls an image into the store through the one copy engine, and returns it as cached. A tag
 * whose manifest is cached costs one HEAD (none with a digest or offline); otherwise the root
 * manifest is fetched, passed to the trust verifier when trust is required, and everything
 * missing is copied in, each blob verified, tar layers converted to squashfs on the way in (the
 * layer transform of `concil copy --squashfs`, its output kept beside the layer).
 */
export async function pullImage(
  store: Store,
  reference: string,
  options: PullOptions = {},
): Promise<PullResult> {
  const ref = parseReference(reference);
  const key = formatReference(ref);
  const platform =
    typeof options.platform === 'string'
      ? parsePlatform(options.platform)
      : (options.platform ?? defaultPlatform());
  const squashfs = squashfsOptionsOf(options.squashfs);
  const requireTrust = trustRequired(store.config);
  if (requireTrust && !store.trustVerifier) {
    const method = store.config.content_trust;
    throw new StoreError(
      'TRUST_REQUIRED',
      `content trust is required for ${key} (content_trust "${method}", disable_content_trust false) but no ${method} verifier was given (the store's trustVerifier: a TrustPolicy of @concil/trust); set "disable_content_trust": true in the configuration to pull without trust`,
      key,
    );
  }
  const record = await readRefRecord(store.layout, key);
  const verifier = store.trustVerifier;
  // A verifier that signs tags (Notary) names the digest: the registry is never asked by tag.
  const resolveTag = verifier?.resolveTag?.bind(verifier);
  const signed =
    resolveTag && !ref.digest && !options.offline
      ? await trusted(key, key, () => resolveTag(key))
      : undefined;
  const digest = ref.digest ?? signed?.digest;
  const cachedRoot = digest ? await cachedManifestDescriptor(store, digest) : undefined;

  if (options.offline) {
    const root = cachedRoot ?? record?.root;
    const image = root && (await readCachedImage(store, key, root, platform));
    if (!root || !image) {
      throw new StoreError(
        'NOT_CACHED',
        `${key} is not in the cache (offline): pull it while online first`,
        key,
      );
    }
    return finish(store, image, record?.resolvedAt ?? store.now(), squashfs, { fromCache: true });
  }

  let source: ReadOnlyTarget | undefined;
  const openSource = async () => {
    source ??= await store.openSource(reference, options.registry);
    return source;
  };
  const root = cachedRoot ?? (await (await openSource()).resolve(signed?.digest ?? manifestReference(ref)));
  const resolvedAt = store.now();
  if (cachedRoot || record?.root.digest === root.digest) {
    const image = await readCachedImage(store, key, root, platform);
    if (image) {
      // The verifier decides per image whether trust applies; what is cached is asked again.
      if (verifier) {
        const bytes = (await store.readBlobBytes(root.digest)) ?? new Uint8Array();
        const source = await openSource();
        await trusted(key, `${key} (${root.digest})`, () => verifier.verify(key, root, bytes, source));
      }
      return finish(store, image, resolvedAt, squashfs, { fromCache: true });
    }
  }

  const src = await openSource();
  const rootBytes =
    ((await store.hasBlob(root)) ? await store.readBlobBytes(root.digest) : undefined) ??
    (await fetchBytes(src, root, options.signal ? { signal: options.signal } : undefined));
  if (verifier) {
    await trusted(key, `${key} (${root.digest})`, () => verifier.verify(key, root, rootBytes, src));
  }
  const fetched = new Map([[root.digest, rootBytes]]);
  const fetchOptions = options.signal ? { signal: options.signal } : undefined;
  const encrypted = await hasEncryptedLayers(root, rootBytes, platform, async (desc) => {
    const bytes = await fetchBytes(src, desc, fetchOptions);
    fetched.set(desc.digest, bytes);
    return bytes;
  });
  // The copy reads the manifests from what was fetched (and verified) already.
  const primed: ReadOnlyTarget = {
    name: src.name,
    resolve: async () => root,
    exists: (desc) => src.exists(desc),
    fetch: async (desc, fetchOptions) => {
      const bytes = fetched.get(desc.digest);
      return bytes ? Readable.from([Buffer.from(bytes)]) : src.fetch(desc, fetchOptions);
    },
  };
  // Before writing: what pulls killed earlier left in tmp/ goes (gc reports it, too).
  await removeLeftovers(store.layout.tmpDir);
  // Loaded only when something is to be copied: a cached pull starts faster without it.
  const { copy } = await import('@concil/image');
  const result = await copy(primed, store.target(), {
    // Encrypted layers are kept only as their plaintext squashfs images, asked for or not.
    ...((squashfs || encrypted) &&
      squashfsConversion(store, squashfs, {
        convertPlain: squashfs !== undefined,
        decryption: storeDecryption(store, key, options),
      })),
    reference: manifestReference(ref),
    platform,
    ...(options.concurrency !== undefined && { concurrency: options.concurrency }),
    ...(options.signal && { signal: options.signal }),
    ...(options.onProgress && { onProgress: options.onProgress }),
  });
  // The copy keeps the platform's manifest; the index is kept too, so the tag's HEAD matches it.
  if (parseManifest(rootBytes, root.mediaType, root.digest).kind === 'index') {
    await store.putBlobBytes(root, rootBytes);
  }
  const image = await readCachedImage(store, key, root, platform);
  if (!image) {
    throw new StoreError('NOT_CACHED', `${key} was copied but is not complete in the cache`, key);
  }
  return finish(store, image, resolvedAt, squashfs, {
    fromCache: false,
    blobsCopied: result.blobsCopied,
    bytesCopied: result.bytesCopied,
  });
}

/**
 * Whether the image the pull takes from `root` has encrypted layers (then the store decrypts them
 * into squashfs images). An index's entry for the platform is fetched to see; one that cannot be
 * chosen so simply (a nested index) counts as encrypted: the copy's edit then decides per layer.
 */
async function hasEncryptedLayers(
  root: Descriptor,
  rootBytes: Uint8Array,
  platform: Platform,
  fetchManifest: (desc: Descriptor) => Promise<Uint8Array>,
): Promise<boolean> {
  let parsed = parseManifest(rootBytes, root.mediaType, root.digest);
  if (parsed.kind === 'index') {
    let chosen: Descriptor;
    try {
      chosen = selectPlatform(parsed.index, platform, root.digest);
    } catch {
      return true; // the copy says what is wrong with the index, or finds the image in a nested one
    }
    parsed = parseManifest(await fetchManifest(chosen), chosen.mediaType, chosen.digest);
    if (parsed.kind === 'index') return true;
  }
  return parsed.manifest.layers.some((layer) => isEncryptedLayer(layer.mediaType));
}

/** The keys the store tries on encrypted layers: the pull's, then the configuration's, read once. */
function storeDecryption(store: Store, image: string, options: PullOptions): StoreDecryption {
  const paths = [...(options.decryptionKeys ?? []), ...store.config.decryption_keys];
  let keys: Promise<DecryptionKey[]> | undefined;
  const read = async () => {
    const { readDecryptionKey } = await import('@concil/image');
    const read: DecryptionKey[] = [];
    for (const path of paths) {
      const password = options.keyPassword;
      try {
        read.push(await readDecryptionKey(path, password ? { password: () => password(path) } : {}));
      } catch (error) {
        throw new StoreError(
          'DECRYPTION_FAILED',
          `cannot decrypt ${image}: ${(error as Error).message}`,
          path,
          { cause: error },
        );
      }
    }
    return read;
  };
  return {
    image,
    keys: () => {
      keys ??= read();
      return keys;
    },
  };
}

/** Runs a trust check; its failure becomes TRUST_FAILED naming what is not trusted and why. */
async function trusted<T>(key: string, what: string, check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error) {
    throw new StoreError('TRUST_FAILED', `${what} is not trusted: ${(error as Error).message}`, key, {
      cause: error,
    });
  }
}

async function finish(
  store: Store,
  image: CachedImage,
  resolvedAt: number,
  squashfs: SquashfsOptions | undefined,
  counts: { fromCache: boolean; blobsCopied?: number; bytesCopied?: number },
): Promise<PullResult> {
  if (squashfs) await ensureSquashfs(store, image, squashfs);
  const now = store.now();
  await writeRefRecord(store.layout, {
    reference: image.reference,
    root: bare(image.root),
    ...(image.root.digest !== image.manifestDescriptor.digest && {
      manifest: bare(image.manifestDescriptor),
      ...(image.platform && { platform: image.platform }),
    }),
    resolvedAt,
    lastUsed: now,
  });
  return { ...image, blobsCopied: 0, bytesCopied: 0, ...counts };
}

/**
 * Gives every tar layer of a cached image its squashfs image: the ones converted on the way in
 * are found by their record; the others (cached before, without squashfs) are converted from the
 * cache now, by a copy of the image from the store into itself with the same transform. Each
 * conversion's tar must be the config's diff_id.
 */
export async function ensureSquashfs(
  store: Store,
  image: CachedImage,
  options: SquashfsOptions = DEFAULT_SQUASHFS_OPTIONS,
): Promise<void> {
  const records = () => Promise.all(image.layers.map((layer) => store.layerRecord(layer.descriptor.digest)));
  let recorded = await records();
  const missing = image.layers.some(
    (layer, i) => isConvertible(layer.descriptor.mediaType) && !recorded[i]?.squashfs,
  );
  if (missing) {
    const { copy } = await import('@concil/image');
    const cached = store.target();
    await copy(cached, cached, {
      ...squashfsConversion(store, options),
      reference: image.manifestDescriptor.digest,
    });
    recorded = await records();
  }
  for (const [i, layer] of image.layers.entries()) {
    if (isEncryptedLayer(layer.descriptor.mediaType)) continue; // its squashfs image is all there is
    if (!isConvertible(layer.descriptor.mediaType)) {
      if (layer.descriptor.mediaType.includes('squashfs')) layer.squashfsPath = layer.path;
      continue;
    }
    const record = recorded[i];
    if (!record?.squashfs) {
      throw new StoreError('CONVERSION_FAILED', `layer ${layer.descriptor.digest} has no squashfs image`);
    }
    if (layer.diffId !== undefined && layer.diffId !== record.diffId) {
      await rm(store.layout.layerRecordPath(layer.descriptor.digest), { force: true });
      throw new StoreError(
        'DIFF_ID_MISMATCH',
        `layer ${layer.descriptor.digest} unpacks to a tar with digest ${record.diffId}, but the image config says ${layer.diffId}: the image is inconsistent`,
        layer.descriptor.digest,
      );
    }
    layer.diffId = record.diffId;
    layer.squashfsPath = store.layout.squashfsPath(record.diffId);
  }
}

function squashfsOptionsOf(value: PullOptions['squashfs']): SquashfsOptions | undefined {
  if (!value) return undefined;
  return value === true ? DEFAULT_SQUASHFS_OPTIONS : { ...DEFAULT_SQUASHFS_OPTIONS, ...value };
}

async function cachedManifestDescriptor(store: Store, digest: string): Promise<Descriptor | undefined> {
  const bytes = await store.readBlobBytes(digest);
  if (!bytes || computeDigest(bytes, parseDigest(digest).algorithm) !== digest) return undefined;
  try {
    const parsed = parseManifest(bytes, undefined, digest);
    const desc = {
      mediaType: parsed.mediaType,
      digest: digest as Descriptor['digest'],
      size: bytes.byteLength,
    };
    return (await store.hasBlob(desc)) ? desc : undefined;
  } catch {
    return undefined;
  }
}

function bare(desc: Descriptor): Descriptor {
  return { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
}
