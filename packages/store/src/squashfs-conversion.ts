import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { CopyOptions, ImageEditor, LayerTransform } from '@concil/image';
import { computeStreamDigest, type Digest, layerKindOf } from '@concil/oci-spec';
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

/**
 * The copy options that give every tar layer of the images copied into the store its squashfs
 * image: the edit plans the conversion of `concil copy --squashfs` (the pieces of `@concil/image`'s
 * `convertLayer('squashfs')`) for each convertible layer the store has no squashfs image of, and
 * `keepSources` keeps the image itself as it came, the conversion beside it. The transform reads
 * each layer back from the store once it is there, checks its tar against the config's diff_id,
 * and its squashfs image goes to `squashfs/` under that diff_id, recorded for the layer's digest.
 */
export function squashfsConversion(
  store: Store,
  options: SquashfsOptions = DEFAULT_SQUASHFS_OPTIONS,
): Required<Pick<CopyOptions, 'edit' | 'keepSources'>> {
  let transform: Promise<LayerTransform> | undefined;
  const edit: ImageEditor = async ({ manifest }) => {
    const missing = await Promise.all(
      manifest.layers.map(
        async (layer) => isConvertible(layer.mediaType) && !(await store.layerRecord(layer.digest))?.squashfs,
      ),
    );
    if (!missing.includes(true)) return undefined;
    transform ??= recordingConversion(store, options);
    const converting = await transform;
    return {
      layers: manifest.layers.map((_, source) =>
        missing[source] ? { transform: converting, sources: [source] } : { source },
      ),
    };
  };
  return { edit, keepSources: true };
}

/**
 * `convertLayer('squashfs')` of `@concil/image` — the conversion of `concil copy --squashfs`:
 * `openLayerTar` (decompressed, checked against the diff_id), then the squashfs image written as a
 * file through `ingestFile` — whose file is made in the store's `tmp/`, hashed, and moved to
 * `squashfs/<diff_id>` with the layer's record, instead of becoming a blob.
 */
async function recordingConversion(store: Store, options: SquashfsOptions): Promise<LayerTransform> {
  const { ImageError, convertLayer } = await import('@concil/image');
  const squashfs = { ...DEFAULT_SQUASHFS_OPTIONS, ...options };
  const conversion = convertLayer('squashfs', { squashfs });
  return {
    id: `store:squashfs:${squashfs.compressor}:${squashfs.level ?? ''}`,
    async apply(sources, context) {
      const [source] = sources;
      const diffId = source?.diffId as Digest | undefined;
      if (!source || !diffId) {
        throw new StoreError('DIFF_ID_MISMATCH', 'a layer to convert has no diff_id in its image config');
      }
      const record = async (mediaType: string, write: (path: string) => Promise<void>) => {
        const spooled = temporaryPath(store.layout.tmpDir, 'sqfs');
        try {
          await write(spooled);
          const { digest, size } = await computeStreamDigest(
            createReadStream(spooled, { highWaterMark: 1 << 20 }),
          );
          await store.recordSquashfs(source.descriptor.digest, diffId, spooled);
          return { mediaType, digest, size };
        } finally {
          await removeTemporary(spooled);
        }
      };
      try {
        return await conversion.apply(sources, {
          signal: context.signal,
          ingestFile: record,
          ingest: (mediaType, content) =>
            record(mediaType, (path) => pipeline(content, createWriteStream(path))),
        });
      } catch (error) {
        if (context.signal.aborted) throw error;
        if (error instanceof ImageError && error.code === 'DIFF_ID_MISMATCH') {
          throw new StoreError('DIFF_ID_MISMATCH', error.message, error.subject, { cause: error });
        }
        throw new StoreError(
          'CONVERSION_FAILED',
          `cannot convert layer ${source.descriptor.digest} to squashfs: ${(error as Error).message}`,
          source.descriptor.digest,
          { cause: error },
        );
      }
    },
  };
}
