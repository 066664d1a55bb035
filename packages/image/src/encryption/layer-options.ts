import { type Digest, isDigest } from '@concil/oci-spec';
import { ImageError } from '../errors.js';
import { LAYER_CIPHER, type LayerSecret } from './layer-cipher.js';

/** The annotations ocicrypt gives an encrypted layer. */
export const JWE_KEYS_ANNOTATION = 'org.opencontainers.image.enc.keys.jwe';
export const PUBOPTS_ANNOTATION = 'org.opencontainers.image.enc.pubopts';
/** Every annotation of the encryption namespace: a decrypted layer drops them all. */
export const ENCRYPTION_ANNOTATION_PREFIX = 'org.opencontainers.image.enc.';

/**
 * ocicrypt's private options (what the JWE wraps), field for field as its Go structs marshal:
 * byte strings in standard base64, `digest` the plaintext blob's digest.
 */
export function encodePrivateOptions(secret: LayerSecret, digest: Digest): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      symkey: secret.symkey.toString('base64'),
      digest,
      cipheroptions: { nonce: secret.nonce.toString('base64') },
    }),
  );
}

/** ocicrypt's public options, as its Go structs marshal (the public cipher options are empty). */
export function encodePublicOptions(hmac: Buffer): string {
  const json = JSON.stringify({ cipher: LAYER_CIPHER, hmac: hmac.toString('base64'), cipheroptions: {} });
  return Buffer.from(json).toString('base64');
}

export interface PrivateOptions extends LayerSecret {
  /** The plaintext blob's digest; ocicrypt lets it be empty. */
  digest: Digest | undefined;
}

/** The private options a JWE opened to; `layer` names the layer in errors. */
export function parsePrivateOptions(bytes: Uint8Array, layer: string): PrivateOptions {
  const json = parseObject(new TextDecoder().decode(bytes), `the private options of layer ${layer}`, layer);
  const options = objectField(json, 'cipheroptions', layer) ?? {};
  const digest = json.digest;
  if (digest !== undefined && digest !== '' && (typeof digest !== 'string' || !isDigest(digest))) {
    throw invalid(layer, `its private options name the digest ${JSON.stringify(digest)}, which is no digest`);
  }
  return {
    symkey: bytesField(json, 'symkey', layer),
    nonce: bytesField(options, 'nonce', layer),
    digest: digest ? (digest as Digest) : undefined,
  };
}

/** The HMAC the layer's public options carry, after checking they name ocicrypt's cipher. */
export function parsePublicOptions(annotation: string | undefined, layer: string): { hmac: Buffer } {
  if (!annotation) {
    throw invalid(layer, `it has no ${PUBOPTS_ANNOTATION} annotation, which says how it was encrypted`);
  }
  const text = decodeBase64(annotation, `its ${PUBOPTS_ANNOTATION} annotation`, layer).toString('utf8');
  const json = parseObject(text, `its ${PUBOPTS_ANNOTATION} annotation`, layer);
  if (json.cipher !== LAYER_CIPHER) {
    throw invalid(
      layer,
      `it is encrypted with ${JSON.stringify(json.cipher)}; concil knows ${LAYER_CIPHER} only`,
      'UNSUPPORTED',
    );
  }
  const hmac = bytesField(json, 'hmac', layer);
  if (hmac.length === 0) throw invalid(layer, 'its public options carry no HMAC to verify it with');
  return { hmac };
}

/** Standard base64, as ocicrypt writes; base64url too, as the Python concil wrote. */
export function decodeBase64(text: string, what: string, layer: string): Buffer {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) throw invalid(layer, `${what} is not base64`);
  return Buffer.from(text, 'base64'); // Node's decoder reads both alphabets
}

type Json = Record<string, unknown>;

function parseObject(text: string, what: string, layer: string): Json {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid(layer, `${what} is not JSON`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw invalid(layer, `${what} is not a JSON object`);
  }
  return json as Json;
}

function objectField(json: Json, key: string, layer: string): Json | undefined {
  const value = json[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value))
    throw invalid(layer, `its "${key}" is not an object`);
  return value as Json;
}

function bytesField(json: Json, key: string, layer: string): Buffer {
  const value = json[key];
  if (typeof value !== 'string') throw invalid(layer, `its encryption options lack "${key}"`);
  return decodeBase64(value, `its "${key}"`, layer);
}

function invalid(
  layer: string,
  problem: string,
  code: 'ENCRYPTION_INVALID' | 'UNSUPPORTED' = 'ENCRYPTION_INVALID',
): ImageError {
  return new ImageError(code, `encrypted layer ${layer} cannot be decrypted: ${problem}`, layer);
}
