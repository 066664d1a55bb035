import type { Descriptor } from '@concil/oci-spec';
import { ImageError } from './errors.js';

export const TITLE_ANNOTATION = 'org.opencontainers.image.title';

/**
 * The 0-based positions of the layers a name picks, as concil names layers: a unique prefix of
 * the digest (with or without `sha256:`), a title (the `org.opencontainers.image.title`
 * annotation), a position `%N` (1-based), or a range `A..B`, `A..`, `..B` of those (both ends
 * included). A name that matches several layers is `LAYER_AMBIGUOUS`, one that matches none
 * `LAYER_UNKNOWN`; both list the candidates.
 */
export function resolveLayerNames(layers: readonly Descriptor[], name: string): number[] {
  const range = name.indexOf('..');
  if (range < 0) return [resolveLayerName(layers, name)];
  const from = name.slice(0, range);
  const to = name.slice(range + 2);
  const first = from === '' ? 0 : resolveLayerName(layers, from);
  const last = to === '' ? layers.length - 1 : resolveLayerName(layers, to);
  if (last < first) {
    throw new ImageError(
      'LAYER_UNKNOWN',
      `layer range ${name} runs backwards (layer ${first + 1} to layer ${last + 1}); name the lower layer first`,
      name,
    );
  }
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/** The 0-based position of the one layer a name (not a range) picks. */
export function resolveLayerName(layers: readonly Descriptor[], name: string): number {
  const position = /^%(\d+)$/.exec(name);
  if (position) {
    const n = Number(position[1]);
    if (n >= 1 && n <= layers.length) return n - 1;
    throw new ImageError(
      'LAYER_UNKNOWN',
      `no layer ${name}: the image has ${layers.length} layers (%1 to %${layers.length}); the layers are: ${describeLayers(layers, layers.keys())}`,
      name,
    );
  }
  const matches = [...layers.keys()].filter((i) => matchesName(layers[i]!, name));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) {
    throw new ImageError(
      'LAYER_UNKNOWN',
      `no layer is named ${JSON.stringify(name)} (a digest prefix, a title or %N); the layers are: ${describeLayers(layers, layers.keys())}`,
      name,
    );
  }
  throw new ImageError(
    'LAYER_AMBIGUOUS',
    `${JSON.stringify(name)} names ${matches.length} layers; use a longer digest prefix or %N for one of: ${describeLayers(layers, matches)}`,
    name,
  );
}

function matchesName(layer: Descriptor, name: string): boolean {
  if (name === '') return false;
  if (layer.annotations?.[TITLE_ANNOTATION] === name) return true;
  const digest = layer.digest;
  return name.includes(':')
    ? digest.startsWith(name)
    : digest.slice(digest.indexOf(':') + 1).startsWith(name);
}

/** The layers as `%N digest title`, on one line (the CLI prints an error on one line). */
function describeLayers(layers: readonly Descriptor[], positions: Iterable<number>): string {
  return [...positions]
    .map((i) => {
      const title = layers[i]!.annotations?.[TITLE_ANNOTATION];
      return `%${i + 1} ${layers[i]!.digest}${title === undefined ? '' : ` ${title}`}`;
    })
    .join(', ');
}
