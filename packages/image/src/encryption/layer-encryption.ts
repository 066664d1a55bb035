import { createHash, createPublicKey } from 'node:crypto';
import { pipeline } from 'node:stream';
import { type Descriptor, type Digest, layerKindOf, layerMediaType } from '@concil/oci-spec';
import { ImageError } from '../errors.js';
import type { BlobFilter } from '../layer-filter.js';
import type { DecryptionKey, EncryptionKey } from './encryption-keys.js';
import { unwrapLayerKeys, wrapLayerKeys } from './key-wrap.js';
import { LayerDecryptStream, LayerEncryptStream } from './layer-cipher.js';
import {
  ENCRYPTION_ANNOTATION_PREFIX,
  encodePrivateOptions,
  encodePublicOptions,
  JWE_KEYS_ANNOTATION,
  PUBOPTS_ANNOTATION,
  parsePrivateOptions,
  parsePublicOptions,
} from './layer-options.js';

/**
 * Encrypts a layer for `recipients` as ocicrypt does: AES-256-CTR with a fresh key and nonce, the
 * HMAC-SHA256 of the ciphertext in the public options, key, nonce and the plaintext blob's digest
 * in the private options, wrapped in a JWE for every recipient; the media type gains `+encrypted`.
 */
export function layerEncryption(recipients: readonly EncryptionKey[]): BlobFilter {
  if (recipients.length === 0) {
    throw new ImageError('KEY_INVALID', 'encrypting layers needs at least one public key');
  }
  return {
    id: `encrypt:${publicKeysId(recipients)}`,
    async apply(blob, { ingest }) {
      const kind = layerKindOf(blob.mediaType);
      const layer = blob.digest ?? blob.mediaType;
      if (!kind || kind.encrypted) {
        throw new ImageError(
          'UNSUPPORTED',
          `layer ${layer} is ${blob.mediaType}: ${kind ? 'it is encrypted already' : 'not a layer type concil encrypts'}`,
          layer,
        );
      }
      const encrypting = new LayerEncryptStream(blob.digest);
      const content = await blob.open();
      // Errors end up on `encrypting`, which `ingest` reads; the callback has nothing to add.
      const stored = await ingest(
        layerMediaType({ ...kind, encrypted: true }),
        pipeline(content, encrypting, () => {}),
      );
      const wrapped = await wrapLayerKeys(
        encodePrivateOptions(encrypting.secret, encrypting.digest),
        recipients,
      );
      return withAnnotations(stored, {
        ...blob.annotations,
        [JWE_KEYS_ANNOTATION]: wrapped,
        [PUBOPTS_ANNOTATION]: encodePublicOptions(encrypting.hmac),
      });
    },
  };
}

/**
 * Decrypts a layer ocicrypt encrypted, with the first of `keys` that opens its wrapped key. The
 * plaintext streams into the destination, but the stream fails at its end unless the HMAC of the
 * whole ciphertext and the plaintext's digest match, so nothing unverified is stored. The media
 * type loses `+encrypted`, the layer its encryption annotations.
 */
export function layerDecryption(keys: readonly DecryptionKey[]): BlobFilter {
  if (keys.length === 0) {
    throw new ImageError('KEY_INVALID', 'decrypting layers needs at least one private key');
  }
  return {
    id: `decrypt:${privateKeysId(keys)}`,
    async apply(blob, { ingest }) {
      const annotations = blob.annotations ?? {};
      const opened = await openLayerDecryption(blob.mediaType, annotations, keys, blob.digest);
      // CTR keeps the size: with the plaintext's digest recorded, the destination verifies both as
      // it writes (one hash of the plaintext, not a second one here).
      const expected =
        opened.digest && blob.size !== undefined ? { digest: opened.digest, size: blob.size } : undefined;
      const content = await blob.open();
      const stored = await ingest(
        opened.mediaType,
        pipeline(content, opened.decrypting({ checkDigest: !expected }), () => {}),
        expected,
      ).catch((error: unknown) => {
        const { code, subject } = error as { code?: string; subject?: string };
        if (!expected || code !== 'DIGEST_INVALID' || subject !== expected.digest) throw error;
        const layer = blob.digest ?? blob.mediaType;
        throw new ImageError(
          'DECRYPTION_FAILED',
          `layer ${layer} decrypts to other content than its encryption recorded (${expected.digest}); nothing decrypted was kept`,
          layer,
          { cause: error },
        );
      });
      return withAnnotations(
        stored,
        Object.fromEntries(
          Object.entries(annotations).filter(([key]) => !key.startsWith(ENCRYPTION_ANNOTATION_PREFIX)),
        ),
      );
    },
  };
}

/**
 * Adds `recipients` to an encrypted layer without touching its data: the layer's key, opened with
 * the first of `keys` that can, is wrapped for them in one more JWE, appended to the annotation
 * after a comma as ocicrypt appends recipients. The blob is stored byte for byte (same digest).
 */
export function recipientAddition(
  recipients: readonly EncryptionKey[],
  keys: readonly DecryptionKey[],
): BlobFilter {
  if (recipients.length === 0 || keys.length === 0) {
    throw new ImageError(
      'KEY_INVALID',
      'adding recipients needs their public keys and a private key that opens the layers now',
    );
  }
  return {
    id: `add-recipients:${publicKeysId(recipients)}:${privateKeysId(keys)}`,
    async apply(blob, { ingest }) {
      const layer = blob.digest ?? blob.mediaType;
      if (!layerKindOf(blob.mediaType)?.encrypted) {
        throw new ImageError(
          'UNSUPPORTED',
          `layer ${layer} is ${blob.mediaType}, not an encrypted layer`,
          layer,
        );
      }
      const annotations = blob.annotations ?? {};
      const wrapped = annotations[JWE_KEYS_ANNOTATION];
      const added = await wrapLayerKeys(await unwrapLayerKeys(wrapped, keys, layer), recipients);
      const stored = await ingest(blob.mediaType, await blob.open());
      return withAnnotations(stored, { ...annotations, [JWE_KEYS_ANNOTATION]: `${wrapped},${added}` });
    },
  };
}

/**
 * What decrypting one layer takes, from its media type and annotations: its plaintext media type
 * and digest (ocicrypt may leave that empty), and a stream that decrypts it and fails at its end
 * unless the HMAC and the digest match. The wrapped key is opened here, before any byte is read.
 */
export async function openLayerDecryption(
  mediaType: string,
  annotations: Record<string, string>,
  keys: readonly DecryptionKey[],
  digest: string | undefined,
): Promise<{
  mediaType: string;
  digest: Digest | undefined;
  /** `checkDigest: false` when whoever stores the plaintext verifies its digest as it writes. */
  decrypting: (options?: { checkDigest?: boolean }) => LayerDecryptStream;
}> {
  const kind = layerKindOf(mediaType);
  const layer = digest ?? mediaType;
  if (!kind?.encrypted) {
    throw new ImageError('UNSUPPORTED', `layer ${layer} is ${mediaType}, not an encrypted layer`, layer);
  }
  const { hmac } = parsePublicOptions(annotations[PUBOPTS_ANNOTATION], layer);
  const secret = parsePrivateOptions(
    await unwrapLayerKeys(annotations[JWE_KEYS_ANNOTATION], keys, layer),
    layer,
  );
  return {
    mediaType: layerMediaType({ ...kind, encrypted: false }),
    digest: secret.digest,
    decrypting: ({ checkDigest = true } = {}) =>
      new LayerDecryptStream(secret, { hmac, digest: checkDigest ? secret.digest : undefined, layer }),
  };
}

function withAnnotations(desc: Descriptor, annotations: Record<string, string>): Descriptor {
  return Object.keys(annotations).length > 0 ? { ...desc, annotations } : desc;
}

function publicKeysId(recipients: readonly EncryptionKey[]): string {
  return fingerprint(recipients.map((r) => r.key.export({ type: 'spki', format: 'der' })));
}

function privateKeysId(keys: readonly DecryptionKey[]): string {
  return fingerprint(keys.map((k) => createPublicKey(k.key).export({ type: 'spki', format: 'der' })));
}

/** Names a set of keys in a transform id without showing them: a short hash of their encodings. */
function fingerprint(encodings: readonly Buffer[]): string {
  const hash = createHash('sha256');
  for (const encoding of encodings) hash.update(encoding);
  return hash.digest('hex').slice(0, 16);
}
