import { createReadStream, createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CopyOptions, DecryptionKey, ImageEditor, LayerDecryption, LayerTransform } from '@concil/image';
import {
  computeStreamDigest,
  type Descriptor,
  type Digest,
  DigestingStream,
  layerKindOf,
  MediaType,
} from '@concil/oci-spec';
import type { CompressorName } from '@concil/squashfs';
import { removeTemporary, temporaryPath } from './atomic-file.js';
import { StoreError } from './errors.js';
import type { Store } from './store.js';

export interface SquashfsOptions {
  compressor?: CompressorName;
  level?: number;
}

/** concil's choice: zstd at level 10. */
export const DEFAULT_SQUASHFS_OPTIONS: Required<Pick<SquashfsOptions, 'compressor' | 'level'>> = {
  compressor: 'zstd',
  level: 10,
};

/** Whether a layer of this media type is a tar (plain, gzip or zstd) that can become squashfs. */
export function isConvertible(mediaType: string): boolean {
  const kind = layerKindOf(mediaType);
  return kind !== undefined && !kind.encrypted && !kind.nondistributable && kind.compression !== 'squashfs';
}

/** Whether a layer is encrypted: the store keeps it only decrypted, as its squashfs image. */
export function isEncryptedLayer(mediaType: string): boolean {
  return layerKindOf(mediaType)?.encrypted === true;
}

export interface StoreDecryption {
  /** The private keys to try, loaded when the first encrypted layer needs them. */
  keys: () => Promise<readonly DecryptionKey[]>;
  /** The image, for messages. */
  image: string;
}

export interface SquashfsConversionOptions {
  /** Convert the plain tar layers too (true by default); encrypted ones are converted always. */
  convertPlain?: boolean;
  /** How encrypted layers are opened; without it an encrypted layer is an error. */
  decryption?: StoreDecryption;
}

/**
 * The copy options that give every tar layer of the images copied into the store its squashfs
 * image: the edit plans the conversion of `concil copy --squashfs` (the pieces of `@concil/image`'s
 * `convertLayer('squashfs')`) for each convertible layer the store has no squashfs image of, and
 * `keepSources` keeps the image itself as it came, the conversion beside it. The transform reads
 * each layer back from the store once it is there, checks its tar against the config's diff_id,
 * and its squashfs image goes to `squashfs/<diff_id>` under that diff_id, recorded for the layer's
 * digest.
 *
 * Encrypted layers are not kept: each is decrypted as it streams from the source straight into
 * its conversion (the HMAC and digest checked at its end), so the store holds its plaintext
 * squashfs image only, recorded for the encrypted layer's digest. Their keys are opened when the
 * copy is planned: a layer no key opens fails before anything is written.
 */
export function squashfsConversion(
  store: Store,
  options: SquashfsOptions = DEFAULT_SQUASHFS_OPTIONS,
  conversion: SquashfsConversionOptions = {},
): Required<Pick<CopyOptions, 'edit' | 'keepSources'>> {
  const convertPlain = conversion.convertPlain ?? true;
  let transform: Promise<(layer: string) => LayerTransform> | undefined;
  const edit: ImageEditor = async ({ manifest }) => {
    const missing = await Promise.all(
      manifest.layers.map(
        async (layer) =>
          ((convertPlain && isConvertible(layer.mediaType)) || isEncryptedLayer(layer.mediaType)) &&
          !(await store.layerRecord(layer.digest))?.squashfs,
      ),
    );
    if (!missing.includes(true)) return undefined;
    const encrypted = manifest.layers.filter((layer, i) => missing[i] && isEncryptedLayer(layer.mediaType));
    const decryptions = await openDecryptions(encrypted, conversion.decryption);
    transform ??= recordingConversion(store, options);
    const converting = await transform;
    const { readingDecrypted } = await import('@concil/image');
    return {
      layers: manifest.layers.map((layer, source) =>
        missing[source]
          ? {
              // The conversion checks the plaintext against the diff_id: one hash, not two.
              transform: readingDecrypted(converting(layer.digest), decryptions, { checkDigest: false }),
              sources: [source],
            }
          : { source },
      ),
    };
  };
  return { edit, keepSources: (layer) => !isEncryptedLayer(layer.mediaType) };
}

/** Opens the keys of the encrypted layers to convert, or says which layer no key opens and how to give one. */
async function openDecryptions(
  layers: readonly Descriptor[],
  decryption: StoreDecryption | undefined,
): Promise<Map<string, LayerDecryption>> {
  if (layers.length === 0) return new Map();
  const [first] = layers;
  const how =
    'name its private key in the configuration\'s "decryption_keys" or give it (concil pull --decryption-key KEY)';
  const keys = decryption ? await decryption.keys() : [];
  const image = decryption?.image ?? 'the image';
  if (keys.length === 0) {
    throw new StoreError(
      'DECRYPTION_FAILED',
      `layer ${first!.digest} of ${image} is encrypted, and no decryption key was given: ${how}`,
      first!.digest,
    );
  }
  const { ImageError, openLayerDecryptions } = await import('@concil/image');
  try {
    return await openLayerDecryptions(layers, keys);
  } catch (error) {
    if (!(error instanceof ImageError)) throw error;
    throw new StoreError(
      'DECRYPTION_FAILED',
      `cannot decrypt ${image}: ${error.message}; ${how}`,
      error.subject,
      { cause: error },
    );
  }
}

/**
 * `convertLayer('squashfs')` of `@concil/image` — the conversion of `concil copy --squashfs`:
 * `openLayerTar` (decompressed, checked against the diff_id), then the squashfs image written as a
 * file through `ingestFile` — whose file is made in the store's `tmp/`, hashed, and moved to
 * `squashfs/<diff_id>` with the record of `layer` (the manifest's digest of the layer, which differs
 * from the source's when it was encrypted), instead of becoming a blob. A decrypted squashfs layer
 * is its own squashfs image: it is written as it is, checked against the diff_id.
 */
async function recordingConversion(
  store: Store,
  options: SquashfsOptions,
): Promise<(layer: string) => LayerTransform> {
  const { ImageError, convertLayer } = await import('@concil/image');
  const squashfs = { ...DEFAULT_SQUASHFS_OPTIONS, ...options };
  const conversion = convertLayer('squashfs', { squashfs });
  const id = `store:squashfs:${squashfs.compressor}:${squashfs.level ?? ''}`;
  return (layer) => ({
    id,
    async apply(sources, context) {
      const [source] = sources;
      const diffId = source?.diffId as Digest | undefined;
      if (!source || !diffId) {
        throw new StoreError('DIFF_ID_MISMATCH', `layer ${layer} has no diff_id in its image config`, layer);
      }
      const record = async (mediaType: string, write: (path: string) => Promise<Descriptor>) => {
        const spooled = temporaryPath(store.layout.tmpDir, 'sqfs');
        try {
          const { digest, size } = await write(spooled);
          await store.recordSquashfs(layer, diffId, spooled);
          return { mediaType, digest, size };
        } finally {
          await removeTemporary(spooled);
        }
      };
      try {
        if (layerKindOf(source.descriptor.mediaType)?.compression === 'squashfs') {
          const descriptor = await record(MediaType.ociLayerSquashfs, async (path) =>
            writeVerified(await source.open(), path, diffId, layer),
          );
          return { descriptor, diffId: descriptor.digest };
        }
        const hashed = (write: (path: string) => Promise<void>) => async (path: string) => {
          await write(path);
          return digestOf(path);
        };
        return await conversion.apply(sources, {
          signal: context.signal,
          ingestFile: (mediaType, write) => record(mediaType, hashed(write)),
          ingest: (mediaType, content) =>
            record(
              mediaType,
              hashed((path) => pipeline(content, createWriteStream(path))),
            ),
        });
      } catch (error) {
        if (context.signal.aborted) throw error;
        if (error instanceof StoreError) throw error;
        if (error instanceof ImageError && error.code === 'DIFF_ID_MISMATCH') {
          throw new StoreError('DIFF_ID_MISMATCH', error.message, error.subject, { cause: error });
        }
        if (error instanceof ImageError && error.code === 'DECRYPTION_FAILED') {
          throw new StoreError('DECRYPTION_FAILED', error.message, layer, { cause: error });
        }
        throw new StoreError(
          'CONVERSION_FAILED',
          `cannot convert layer ${layer} to squashfs: ${(error as Error).message}`,
          layer,
          { cause: error },
        );
      }
    },
  });
}

/** A squashfs layer written as it is, its digest checked against the config's diff_id. */
async function writeVerified(
  content: Readable,
  path: string,
  diffId: Digest,
  layer: string,
): Promise<Descriptor> {
  const hashing = new DigestingStream();
  await pipeline(content, hashing, createWriteStream(path, { highWaterMark: 1 << 18 }));
  if (hashing.digest !== diffId) {
    throw new StoreError(
      'DIFF_ID_MISMATCH',
      `layer ${layer} is a squashfs image with digest ${hashing.digest}, but the image config says ${diffId}: the image is inconsistent`,
      layer,
    );
  }
  return { mediaType: MediaType.ociLayerSquashfs, digest: hashing.digest, size: hashing.size };
}

/** The descriptor of a squashfs image written to `path` (read once more to hash it). */
async function digestOf(path: string): Promise<Descriptor> {
  const { digest, size } = await computeStreamDigest(createReadStream(path, { highWaterMark: 1 << 20 }));
  return { mediaType: MediaType.ociLayerSquashfs, digest, size };
}
