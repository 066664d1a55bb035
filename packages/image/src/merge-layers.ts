import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { LayerCompression } from '@concil/oci-spec';
import tarStream from 'tar-stream';
import { ImageError } from './errors.js';
import { encodeLayer, encodingSettings, type LayerEncoding } from './layer-encode.js';
import { layerEntries } from './layer-tar.js';
import type { LayerTransform, SourceLayer } from './layer-transform.js';
import { addTarEntry, type TarHeader, tarEntryName } from './tar-entry.js';
import { TarPathCheck } from './tar-safety.js';

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/**
 * A transform of several layers into one, with OCI whiteout semantics, so the merged layer
 * unpacks to the tree the layers made one after another: a later entry replaces an earlier one
 * at its path (and, unless both are directories, everything below it), `.wh.NAME` removes the
 * lower entry and its subtree, `.wh..wh..opq` empties the directory as it was below.
 *
 * Streamed in two passes: the first reads every layer's headers to learn which paths later
 * layers replace or remove, the second streams the entries that survive. `fromBase` (the range
 * starts at the image's first layer) drops the whiteouts, which have nothing left to hide;
 * otherwise they are kept, first in the merged tar, to hide the lower layers outside the range.
 */
export function mergeLayers(
  fromBase: boolean,
  to: LayerCompression = 'gzip',
  encoding: LayerEncoding = {},
): LayerTransform {
  return {
    id: `merge:${fromBase ? 'base' : 'upper'}:${to}:${encodingSettings(to, encoding)}`,
    async apply(sources, context) {
      const layers: LayerPaths[] = [];
      for (const source of sources) layers.push(await readPaths(source, context.signal));
      const pack = tarStream.pack();
      writeMerged(pack, sources, layers, fromBase, context.signal).then(
        () => pack.finalize(),
        (error: unknown) => pack.destroy(error as Error),
      );
      return encodeLayer(pack as unknown as Readable, to, context, encoding);
    },
  };
}

/** What one layer does to the paths below it. */
interface LayerPaths {
  /** Path → whether the entry is a directory. */
  entries: Map<string, boolean>;
  /** Paths removed with their subtree. */
  whiteouts: Set<string>;
  /** Directories emptied of what was below. */
  opaques: Set<string>;
  /** The whiteout entries themselves, in the layer's order. */
  markers: TarHeader[];
}

type Marker = { kind: 'whiteout' | 'opaque'; path: string } | undefined;

async function readPaths(source: SourceLayer, signal: AbortSignal): Promise<LayerPaths> {
  const paths: LayerPaths = { entries: new Map(), whiteouts: new Set(), opaques: new Set(), markers: [] };
  for await (const { header, path, marker } of entriesOf(source, signal)) {
    if (marker?.kind === 'whiteout') paths.whiteouts.add(marker.path);
    else if (marker?.kind === 'opaque') paths.opaques.add(marker.path);
    else paths.entries.set(path, header.type === 'directory');
    if (marker) paths.markers.push({ ...header, name: tarEntryName(path, header.type) });
  }
  return paths;
}

async function writeMerged(
  pack: tarStream.Pack,
  sources: readonly SourceLayer[],
  layers: readonly LayerPaths[],
  fromBase: boolean,
  signal: AbortSignal,
): Promise<void> {
  if (!fromBase) {
    // Whiteouts apply to the layers below only: written first, they cannot remove what the
    // merged layer itself holds, whichever way a tool applies a layer's entries.
    const written = new Set<string>();
    for (const marker of layers.flatMap((layer) => layer.markers)) {
      if (written.has(marker.name)) continue;
      written.add(marker.name);
      await addTarEntry(pack, marker);
    }
  }
  for (const [i, source] of sources.entries()) {
    for await (const { header, path, marker, entry, linkTarget: target } of entriesOf(source, signal)) {
      if (marker || hiddenAbove(path, i, layers)) {
        entry.resume();
        continue;
      }
      if (target !== undefined) {
        if (hiddenAbove(target, i, layers)) {
          throw new ImageError(
            'UNSUPPORTED',
            `layer ${source.descriptor.digest}: the hard link ${path} points at ${target}, which a later layer of the merge replaces; merge a range that does not split them`,
            source.descriptor.digest,
          );
        }
        header.linkname = target;
      }
      await pipeline(entry, pack.entry({ ...header, name: tarEntryName(path, header.type) }));
    }
  }
}

/** Whether a layer above layer `i` in the merge replaces or removes `path`. */
function hiddenAbove(path: string, i: number, layers: readonly LayerPaths[]): boolean {
  const ancestors = ancestorsOf(path);
  for (let j = i + 1; j < layers.length; j++) {
    const { entries, whiteouts, opaques } = layers[j]!;
    if (entries.has(path) || whiteouts.has(path)) return true;
    for (const ancestor of ancestors) {
      if (whiteouts.has(ancestor) || opaques.has(ancestor) || entries.get(ancestor) === false) return true;
    }
  }
  return false;
}

/** `a/b/c` → `a/b`, `a`, `` (the root). */
function ancestorsOf(path: string): string[] {
  if (path === '') return [];
  const out: string[] = [];
  for (let end = path.lastIndexOf('/'); end > 0; end = path.lastIndexOf('/', end - 1))
    out.push(path.slice(0, end));
  out.push('');
  return out;
}

interface LayerEntry {
  header: tarStream.Header;
  path: string;
  marker: Marker;
  entry: Readable;
  /** A hard link's target, as an entry path. */
  linkTarget?: string;
}

async function* entriesOf(source: SourceLayer, signal: AbortSignal): AsyncGenerator<LayerEntry> {
  // Paths that leave the tree (`..`, absolute, through or to a symlink out) are refused in the
  // first pass, which reads every header before anything is written.
  const check = new TarPathCheck(
    `layer ${source.descriptor.digest} cannot be merged`,
    source.descriptor.digest,
  );
  for await (const entry of layerEntries(source, signal)) {
    const path = check.check(entry.header);
    const slash = path.lastIndexOf('/');
    const name = path.slice(slash + 1);
    const parent = slash < 0 ? '' : path.slice(0, slash);
    const marker: Marker =
      name === OPAQUE
        ? { kind: 'opaque', path: parent }
        : name.startsWith(WHITEOUT)
          ? {
              kind: 'whiteout',
              path: parent ? `${parent}/${name.slice(WHITEOUT.length)}` : name.slice(WHITEOUT.length),
            }
          : undefined;
    const linkTarget =
      entry.header.type === 'link' ? check.linkTarget(entry.header.linkname ?? '') : undefined;
    yield {
      header: entry.header,
      path,
      marker,
      entry: entry as unknown as Readable,
      ...(linkTarget !== undefined && { linkTarget }),
    };
  }
}
