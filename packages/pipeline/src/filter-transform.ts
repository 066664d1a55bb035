import { PassThrough } from 'node:stream';
import {
  ImageError,
  type LayerEncoding,
  type LayerTransform,
  layerEntries,
  type SourceLayer,
  TITLE_ANNOTATION,
  type TransformContext,
  type TransformedLayer,
} from '@concil/image';
import { type Descriptor, pipeInto } from '@concil/oci-spec';
import type { EntryFilter, EntryPass } from './entry-filter.js';
import { rewriteOnWorker, workerRecipes } from './filter-worker-pool.js';
import { filterEntry, rewriteLayer } from './layer-rewrite.js';

/**
 * The filters of one command as one layer transform: each layer is read once, every entry goes
 * through the filters in order. When a filter rewrites, the entries that pass are written to a
 * new layer of the source's kind (tar, gzip, zstd, squashfs), its digests recomputed; when all
 * only read, the layer's bytes are stored as they are while a copy of them is read.
 */
export function filterTransform(
  filters: readonly EntryFilter[],
  encoding: LayerEncoding = {},
): LayerTransform {
  const rewrites = filters.some((filter) => filter.rewrites);
  const onWorker = (source: SourceLayer | undefined) =>
    rewrites && source !== undefined ? workerRecipes(filters, source) : undefined;
  return {
    id: `filters:${filters.map((filter) => filter.id).join('|')}`,
    worksOffThread: (sources) => sources.length === 1 && onWorker(sources[0]) !== undefined,
    async apply(sources, context) {
      const [source] = sources;
      if (!source || sources.length !== 1) {
        throw new ImageError('PLAN_INVALID', `the filters take one layer, not ${sources.length}`);
      }
      // Filters a worker can make again rewrite there, beside the thread that drives the copy.
      const recipes = onWorker(source);
      if (recipes)
        return withTitle(await rewriteOnWorker(source, recipes, context, encoding), source.descriptor);
      const passes = filters.map((filter) => filter.start(source.descriptor));
      const output = rewrites
        ? withTitle(await rewriteLayer(source, passes, context, encoding), source.descriptor)
        : await readAlong(source, passes, context);
      const seenSource = { descriptor: source.descriptor, diffId: source.diffId ?? output.diffId };
      for (const [i, pass] of passes.entries()) {
        pass.end?.(filters.slice(0, i).some((filter) => filter.rewrites) ? output : seenSource);
      }
      return output;
    },
  };
}

/**
 * Stores the layer's bytes unchanged while a second branch of the same stream is read as a tar
 * through the passes: one read of the source, no second blob. The result is the source layer.
 */
async function readAlong(
  source: SourceLayer,
  passes: readonly EntryPass[],
  context: TransformContext,
): Promise<TransformedLayer> {
  const blob = await source.open();
  const stored = pipeInto(blob, new PassThrough({ highWaterMark: 1 << 20 }));
  const read = pipeInto(blob, new PassThrough({ highWaterMark: 1 << 20 }));
  const reading = (async () => {
    for await (const entry of layerEntries({ ...source, open: async () => read }, context.signal)) {
      filterEntry(passes, entry.header);
    }
  })().catch((error: unknown) => {
    stored.destroy(error as Error);
    throw error;
  });
  const storing = context.ingest(source.descriptor.mediaType, stored).catch((error: unknown) => {
    read.destroy(error as Error);
    throw error;
  });
  const [descriptor] = await Promise.all([storing, reading]);
  return withTitle(
    { descriptor, diffId: (source.diffId ?? descriptor.digest) as TransformedLayer['diffId'] },
    source.descriptor,
  );
}

/** The source layer's title stays with the layer made from it. */
function withTitle(layer: TransformedLayer, source: Descriptor): TransformedLayer {
  const title = source.annotations?.[TITLE_ANNOTATION];
  if (title === undefined) return layer;
  return { ...layer, descriptor: { ...layer.descriptor, annotations: { [TITLE_ANNOTATION]: title } } };
}
