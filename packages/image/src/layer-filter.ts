import { pipeline, type Readable } from 'node:stream';
import { type Descriptor, type Digest, DigestingStream, ensureVerified } from '@concil/oci-spec';
import { ImageError } from './errors.js';
import type { LayerTransform, TransformContext } from './layer-transform.js';

/**
 * A step on a layer's bytes on their way into the destination (encryption, decryption): it reads
 * one blob and stores what it makes of it through `context.ingest`. Applied to a source layer as
 * it is (`filterLayer`), or to a transform's output before it is stored (`thenFilter`), so that
 * converting and encrypting a layer is one pass with no intermediate blob.
 */
export interface BlobFilter {
  /** What it does, with every option that changes its output; part of the transform id. */
  readonly id: string;
  /** Returns the stored blob's descriptor, with the annotations the filter gives it. */
  apply(blob: FilteredBlob, context: TransformContext): Promise<Descriptor>;
}

export interface FilteredBlob {
  mediaType: string;
  /** Its digest when known beforehand (a verified source layer); a transform's output has none yet. */
  digest?: Digest;
  /** Its size when known beforehand, as its digest. */
  size?: number;
  /** The source layer's annotations (a transform's output has its own, merged in afterwards). */
  annotations?: Record<string, string>;
  /** Its bytes; opened once, when the filter is ready to read them. */
  open(): Promise<Readable>;
}

/** A source layer through a filter: its diff_id stays (the filter changes the blob, not its content). */
export function filterLayer(filter: BlobFilter): LayerTransform {
  return {
    id: filter.id,
    async apply(sources, context) {
      const [source] = sources;
      if (!source || sources.length !== 1) {
        throw new ImageError('PLAN_INVALID', `${filter.id} takes one layer, not ${sources.length}`);
      }
      if (source.diffId === undefined) {
        throw new ImageError(
          'DIFF_ID_MISMATCH',
          `layer ${source.descriptor.digest} has no diff_id in the image config`,
          source.descriptor.digest,
        );
      }
      const { mediaType, digest, size, annotations } = source.descriptor;
      const descriptor = await filter.apply(
        {
          mediaType,
          digest: digest as Digest,
          size,
          ...(annotations && { annotations }),
          open: () => source.open(),
        },
        context,
      );
      return { descriptor, diffId: source.diffId as Digest };
    },
  };
}

/**
 * `transform` with its output put through `filter` before it is stored: the transform's `ingest`
 * hands its stream to the filter, which stores what it makes of it. The diff_id is the
 * transform's (computed from its own blob); the annotations are the transform's with the
 * filter's on top.
 */
export function thenFilter(transform: LayerTransform, filter: BlobFilter): LayerTransform {
  return {
    id: `${transform.id}|${filter.id}`,
    async apply(sources, context) {
      let filtered: Descriptor | undefined;
      // Without `ingestFile`: a file the transform makes must pass through the filter as well.
      const { ingestFile: _unfiltered, ...streamOnly } = context;
      const result = await transform.apply(sources, {
        ...streamOnly,
        ingest: async (mediaType, content, expected) => {
          // The transform is told of the blob it made (its squashfs diff_id is that blob's digest),
          // not of what the filter stored; a blob it knew beforehand is checked against that.
          const hashing = new DigestingStream();
          try {
            filtered = await filter.apply(
              {
                mediaType,
                open: async () =>
                  expected ? ensureVerified(content, expected) : pipeline(content, hashing, () => {}),
              },
              context,
            );
            return expected
              ? { mediaType, ...expected }
              : { mediaType, digest: hashing.digest, size: hashing.size };
          } catch (error) {
            content.destroy(); // a filter that failed before reading leaves the transform's stream open
            throw error;
          }
        },
      });
      if (!filtered) {
        throw new ImageError('PLAN_INVALID', `${transform.id} stored no layer for ${filter.id} to work on`);
      }
      const annotations = { ...result.descriptor.annotations, ...filtered.annotations };
      return {
        descriptor: { ...filtered, ...(Object.keys(annotations).length > 0 && { annotations }) },
        diffId: result.diffId,
      };
    },
  };
}
