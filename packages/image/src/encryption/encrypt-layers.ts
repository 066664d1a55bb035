import { type Descriptor, layerKindOf } from '@concil/oci-spec';
import type { ImageEditor, PlannedLayer } from '../copy-plan.js';
import { ImageError } from '../errors.js';
import { filterLayer, thenFilter } from '../layer-filter.js';
import type { LayerTransform } from '../layer-transform.js';
import type { DecryptionKey, EncryptionKey } from './encryption-keys.js';
import { layerDecryption, layerEncryption } from './layer-encryption.js';

/** Encrypts one source layer for `recipients` (1→1; the config keeps the layer's diff_id). */
export function encryptLayer(recipients: readonly EncryptionKey[]): LayerTransform {
  return filterLayer(layerEncryption(recipients));
}

/** Decrypts one encrypted source layer with the first of `keys` that opens it. */
export function decryptLayer(keys: readonly DecryptionKey[]): LayerTransform {
  return filterLayer(layerDecryption(keys));
}

export interface EncryptLayersOptions {
  /**
   * Which output layers to encrypt, 0-based from the base; negative counts from the top (-1 is the
   * last), as skopeo's `--encrypt-layer`. All by default.
   */
  layers?: readonly number[];
  /** An edit to make first (a conversion): its output layers are encrypted in the same pass. */
  after?: ImageEditor;
}

/**
 * An editor that encrypts the image's layers (all, or those chosen) for `recipients`. Layers
 * encrypted already, and non-distributable and unknown ones, pass through when all are asked for;
 * choosing one by index is then an error.
 */
export function encryptLayers(
  recipients: readonly EncryptionKey[],
  options: EncryptLayersOptions = {},
): ImageEditor {
  const encryption = layerEncryption(recipients);
  const single = filterLayer(encryption);
  return async (image) => {
    const base = await options.after?.(image);
    const planned = base?.layers ?? image.manifest.layers.map((_, source) => ({ source }));
    const chosen = chosenLayers(options.layers, planned.length, image.descriptor.digest);
    return {
      ...base,
      layers: planned.map((layer, position): PlannedLayer => {
        if (!chosen.has(position)) return layer;
        if ('transform' in layer) return { ...layer, transform: thenFilter(layer.transform, encryption) };
        const descriptor = image.manifest.layers[layer.source]!;
        if (encrypts(descriptor)) return { transform: single, sources: [layer.source] };
        if (options.layers === undefined) return layer;
        throw new ImageError(
          'PLAN_INVALID',
          `layer ${position} (${descriptor.digest}) is ${descriptor.mediaType}, which concil does not encrypt${layerKindOf(descriptor.mediaType)?.encrypted ? ' again' : ''}`,
          descriptor.digest,
        );
      }),
    };
  };
}

/** An editor that decrypts every encrypted layer of the image; a layer no key opens is an error. */
export function decryptLayers(keys: readonly DecryptionKey[]): ImageEditor {
  const transform = decryptLayer(keys);
  return ({ manifest }) => ({
    layers: manifest.layers.map((layer, source) =>
      layerKindOf(layer.mediaType)?.encrypted ? { transform, sources: [source] } : { source },
    ),
  });
}

function encrypts(layer: Descriptor): boolean {
  const kind = layerKindOf(layer.mediaType);
  return kind !== undefined && !kind.encrypted && !kind.nondistributable;
}

function chosenLayers(layers: readonly number[] | undefined, count: number, image: string): Set<number> {
  if (layers === undefined) return new Set(Array.from({ length: count }, (_, i) => i));
  return new Set(
    layers.map((index) => {
      const position = index < 0 ? count + index : index;
      if (!Number.isInteger(index) || position < 0 || position >= count) {
        throw new ImageError(
          'PLAN_INVALID',
          `cannot encrypt layer ${index} of ${image}: it has ${count} layers (0 to ${count - 1}, or -1 for the last)`,
          image,
        );
      }
      return position;
    }),
  );
}
