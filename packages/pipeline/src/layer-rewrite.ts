import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  encodeLayer,
  type LayerEncoding,
  layerEntries,
  type SourceLayer,
  type TransformContext,
  type TransformedLayer,
} from '@concil/image';
import { layerKindOf } from '@concil/oci-spec';
import tarStream from 'tar-stream';
import { type EntryPass, entryPath } from './entry-filter.js';

/** Each entry through the passes in order: the header that comes out, or undefined when one dropped it. */
export function filterEntry(
  passes: readonly EntryPass[],
  header: tarStream.Header,
): tarStream.Header | undefined {
  const path = entryPath(header.name);
  let current: tarStream.Header | undefined = header;
  for (const pass of passes) {
    current = pass.entry({ header: current, path });
    if (!current) return undefined;
  }
  return current;
}

/**
 * The entries of a source layer that pass, written to a new layer of the source's kind (tar, gzip,
 * zstd, squashfs) and stored through `ingest`; the new diff_id is computed on the way.
 * Runs on the calling thread, or on a filter worker (`rewriteOnWorker`), whose `ingest` hands the
 * bytes back to the calling thread.
 *
 * The source's tar is not hashed against its diff_id: its bytes are those the verified blob digest
 * names, and the diff_id the config claims for them is not passed on (the new config gets the new
 * layer's). An image whose claim is false is rewritten as one whose claim is true would be.
 */
export async function rewriteLayer(
  source: SourceLayer,
  passes: readonly EntryPass[],
  context: TransformContext,
  encoding: LayerEncoding,
): Promise<TransformedLayer> {
  const kind = layerKindOf(source.descriptor.mediaType);
  const pack = tarStream.pack();
  const writing = (async () => {
    for await (const entry of layerEntries({ ...source, diffId: undefined }, context.signal)) {
      const header = filterEntry(passes, entry.header);
      if (header) await pipeline(entry, pack.entry(header));
    }
  })();
  writing.then(
    () => pack.finalize(),
    (error: unknown) => pack.destroy(error as Error),
  );
  // openLayerTar refuses encrypted and unknown layers before anything is read: `kind` is known here.
  const layer = await encodeLayer(
    pack as unknown as Readable,
    kind?.compression ?? 'gzip',
    context,
    encoding,
  );
  await writing;
  return layer;
}
