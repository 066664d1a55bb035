import { pipeline } from 'node:stream';
import { type Descriptor, ENCRYPTED_SUFFIX, layerKindOf } from '@concil/oci-spec';
import type { ImageEditor, PlannedLayer } from '../copy-plan.js';
import { ImageError } from '../errors.js';
import { filterLayer, thenFilter } from '../layer-filter.js';
import type { LayerTransform, SourceLayer } from '../layer-transform.js';
import type { DecryptionKey, EncryptionKey } from './encryption-keys.js';
import {
  layerDecryption,
  layerEncryption,
  openLayerDecryption,
  recipientAddition,
} from './layer-encryption.js';

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

export interface DecryptLayersOptions {
  /**
   * An edit to make of the decrypted image (a conversion), in the same pass: it plans from the
   * image as if its layers were not encrypted, and its transforms read them decrypted.
   */
  followedBy?: ImageEditor;
}

/**
 * An editor that decrypts every encrypted layer of the image; a layer no key opens is an error.
 * With `followedBy`, the decrypted layers are edited further before anything is stored.
 */
export function decryptLayers(
  keys: readonly DecryptionKey[],
  options: DecryptLayersOptions = {},
): ImageEditor {
  const transform = decryptLayer(keys);
  const decrypt = (layer: PlannedLayer, layers: readonly Descriptor[]): PlannedLayer => {
    if ('transform' in layer) return { ...layer, transform: decryptingSources(layer.transform, keys) };
    return isEncrypted(layers[layer.source]!) ? { transform, sources: [layer.source] } : layer;
  };
  return async (image) => {
    const { layers } = image.manifest;
    const plain = layers.map((layer) =>
      isEncrypted(layer)
        ? { ...layer, mediaType: layer.mediaType.slice(0, -ENCRYPTED_SUFFIX.length) }
        : layer,
    );
    const plan = await options.followedBy?.({ ...image, manifest: { ...image.manifest, layers: plain } });
    const planned = plan?.layers ?? layers.map((_, source) => ({ source }));
    return { ...plan, layers: planned.map((layer) => decrypt(layer, layers)) };
  };
}

/**
 * An editor that adds `recipients` to every encrypted layer of the image, opening each layer's key
 * with one of `keys`; the layers' data is not re-encrypted (their digests stay). `after` may edit
 * the image's config, not its layers: their bytes must stay as they are.
 */
export function addRecipients(
  recipients: readonly EncryptionKey[],
  keys: readonly DecryptionKey[],
  options: { after?: ImageEditor } = {},
): ImageEditor {
  const transform = filterLayer(recipientAddition(recipients, keys));
  return async (image) => {
    const base = await options.after?.(image);
    const planned = base?.layers ?? image.manifest.layers.map((_, source) => ({ source }));
    if (!image.manifest.layers.some(isEncrypted)) {
      throw new ImageError(
        'PLAN_INVALID',
        `${image.descriptor.digest} has no encrypted layer to add a recipient to: use --encryption to encrypt it`,
        image.descriptor.digest,
      );
    }
    return {
      ...base,
      layers: planned.map((layer): PlannedLayer => {
        if ('transform' in layer) {
          throw new ImageError(
            'PLAN_INVALID',
            'adding recipients keeps every layer as it is: it cannot be combined with layer edits or conversions',
          );
        }
        return isEncrypted(image.manifest.layers[layer.source]!)
          ? { transform, sources: [layer.source] }
          : layer;
      }),
    };
  };
}

/** `transform` reading its encrypted sources decrypted (each checked by its HMAC at its end). */
function decryptingSources(transform: LayerTransform, keys: readonly DecryptionKey[]): LayerTransform {
  return {
    id: `${decryptLayer(keys).id}|${transform.id}`,
    async apply(sources, context) {
      const decryptions = await openLayerDecryptions(
        sources.map((source) => source.descriptor),
        keys,
      );
      return readingDecrypted(transform, decryptions).apply(sources, context);
    },
  };
}

/** How one encrypted layer is read decrypted, its wrapped key opened already. */
export type LayerDecryption = Awaited<ReturnType<typeof openLayerDecryption>>;

/**
 * Opens the wrapped key of every encrypted layer among `layers` with the first of `keys` that can,
 * before any byte is read: a layer none of them opens fails here (`NOT_A_RECIPIENT`, naming the
 * layer and the keys tried), so whoever plans a copy with them can stop before writing anything.
 * By the encrypted layer's digest.
 */
export async function openLayerDecryptions(
  layers: readonly Descriptor[],
  keys: readonly DecryptionKey[],
): Promise<Map<string, LayerDecryption>> {
  const opened = new Map<string, LayerDecryption>();
  for (const layer of layers) {
    if (!isEncrypted(layer) || opened.has(layer.digest)) continue;
    opened.set(
      layer.digest,
      await openLayerDecryption(layer.mediaType, layer.annotations ?? {}, keys, layer.digest),
    );
  }
  return opened;
}

/**
 * `transform` reading the sources that `decryptions` names (by digest) decrypted: it sees their
 * plaintext descriptor, and their stream fails at its end unless the HMAC and the digest match.
 * `checkDigest: false` leaves the digest to a transform that checks the plaintext itself (against
 * the config's diff_id), so that it is not hashed twice; the HMAC is checked still.
 */
export function readingDecrypted(
  transform: LayerTransform,
  decryptions: ReadonlyMap<string, LayerDecryption>,
  options: { checkDigest?: boolean } = {},
): LayerTransform {
  return {
    id: transform.id,
    apply(sources, context) {
      const plain = sources.map((source): SourceLayer => {
        const { descriptor } = source;
        const opened = decryptions.get(descriptor.digest);
        if (!opened) return source;
        return {
          // CTR keeps the size; the digest is the plaintext's, as its encryption recorded it.
          descriptor: {
            mediaType: opened.mediaType,
            digest: opened.digest ?? descriptor.digest,
            size: descriptor.size,
          },
          diffId: source.diffId,
          open: async () => pipeline(await source.open(), opened.decrypting(options), () => {}),
        };
      });
      return transform.apply(plain, context);
    },
  };
}

function isEncrypted(layer: Descriptor): boolean {
  return layerKindOf(layer.mediaType)?.encrypted === true;
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
