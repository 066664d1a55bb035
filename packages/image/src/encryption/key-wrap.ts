import type { FlattenedJWE, GeneralJWE } from 'jose';
import { ImageError } from '../errors.js';
import { type DecryptionKey, type EncryptionKey, KEY_ALGORITHMS } from './encryption-keys.js';
import { decodeBase64, JWE_KEYS_ANNOTATION } from './layer-options.js';

// jose is imported by the functions that wrap and unwrap keys: reading an image (`concil list`,
// which counts an encrypted layer's recipients here) does not load it.

/** Every content encryption of RFC 7518 §5.1, as ocicrypt accepts; it writes A256GCM. */
const CONTENT_ALGORITHMS = [
  'A128CBC-HS256',
  'A192CBC-HS384',
  'A256CBC-HS512',
  'A128GCM',
  'A192GCM',
  'A256GCM',
];

/**
 * A layer's private options wrapped for its recipients, as ocicrypt does: one JWE in JSON
 * serialisation, A256GCM, one recipient per public key; standard base64 of it is the annotation.
 */
export async function wrapLayerKeys(
  privateOptions: Uint8Array,
  recipients: readonly EncryptionKey[],
): Promise<string> {
  if (recipients.length === 0) {
    throw new ImageError('KEY_INVALID', 'encrypting a layer needs at least one public key');
  }
  const { GeneralEncrypt } = await import('jose');
  const jwe = new GeneralEncrypt(privateOptions).setProtectedHeader({ enc: 'A256GCM' });
  for (const { key, algorithm } of recipients) jwe.addRecipient(key).setUnprotectedHeader({ alg: algorithm });
  return Buffer.from(JSON.stringify(await jwe.encrypt())).toString('base64');
}

/**
 * The private options of a layer, from the first of its wrapped keys that one of `keys` opens.
 * The annotation may hold several JWEs separated by commas (ocicrypt appends recipients so); a
 * JWE is read in general or flattened serialisation (go-jose writes one recipient flattened).
 */
export async function unwrapLayerKeys(
  annotation: string | undefined,
  keys: readonly DecryptionKey[],
  layer: string,
): Promise<Uint8Array> {
  if (!annotation) {
    throw new ImageError(
      'ENCRYPTION_INVALID',
      `encrypted layer ${layer} has no ${JWE_KEYS_ANNOTATION} annotation: concil reads JWE-wrapped keys only`,
      layer,
    );
  }
  const jwes = annotation.split(',').map((part) => parseJwe(part, layer));
  const { flattenedDecrypt, generalDecrypt } = await import('jose');
  for (const jwe of jwes) {
    for (const { key } of keys) {
      const options = {
        keyManagementAlgorithms: KEY_ALGORITHMS,
        contentEncryptionAlgorithms: CONTENT_ALGORITHMS,
      };
      try {
        const opened =
          'recipients' in jwe
            ? await generalDecrypt(jwe as unknown as GeneralJWE, key, options)
            : await flattenedDecrypt(jwe as unknown as FlattenedJWE, key, options);
        return opened.plaintext;
      } catch {
        // Not this key's recipient (or not a key of its kind): the next one may be.
      }
    }
  }
  const recipients = jwes.reduce((sum, jwe) => sum + recipientsOf(jwe).length, 0);
  throw new ImageError(
    'NOT_A_RECIPIENT',
    `none of the ${keys.length} decryption keys (${keys.map((k) => k.name).join(', ')}) opens layer ${layer}, which is encrypted for ${recipients} recipient${recipients === 1 ? '' : 's'}: give the private key of one of them`,
    layer,
  );
}

/** How many keys a layer is encrypted for (what `concil list` shows); undefined for no or bad JWEs. */
export function countRecipients(annotation: string | undefined): number | undefined {
  if (!annotation) return undefined;
  try {
    return annotation.split(',').reduce((sum, part) => sum + recipientsOf(parseJwe(part, '')).length, 0);
  } catch {
    return undefined;
  }
}

type Json = Record<string, unknown>;

/** A JWE of the annotation, refused when none of its recipients uses an algorithm concil reads. */
function parseJwe(part: string, layer: string): Json {
  const what = `a JWE in the ${JWE_KEYS_ANNOTATION} annotation of layer ${layer}`;
  let jwe: unknown;
  try {
    jwe = JSON.parse(decodeBase64(part, what, layer).toString('utf8'));
  } catch (error) {
    if (error instanceof ImageError) throw error;
    throw new ImageError('ENCRYPTION_INVALID', `${what} is not JSON`, layer);
  }
  if (typeof jwe !== 'object' || jwe === null || typeof (jwe as Json).ciphertext !== 'string') {
    throw new ImageError('ENCRYPTION_INVALID', `${what} is not a JWE in JSON serialisation`, layer);
  }
  const algorithms = recipientsOf(jwe as Json).map((recipient) => recipient.alg);
  if (!algorithms.some((alg) => typeof alg === 'string' && KEY_ALGORITHMS.includes(alg))) {
    throw new ImageError(
      'UNSUPPORTED',
      `${what} wraps its key with ${algorithms.map((alg) => JSON.stringify(alg)).join(', ')}; concil reads ${KEY_ALGORITHMS.join(', ')}`,
      layer,
    );
  }
  return jwe as Json;
}

/** Each recipient's joined header (protected, shared and its own): where its `alg` is. */
function recipientsOf(jwe: Json): Json[] {
  const shared = { ...protectedHeader(jwe.protected), ...(jwe.unprotected as Json | undefined) };
  const recipients = Array.isArray(jwe.recipients) ? (jwe.recipients as Json[]) : [jwe];
  return recipients.map((recipient) => ({ ...shared, ...(recipient?.header as Json | undefined) }));
}

function protectedHeader(value: unknown): Json {
  if (typeof value !== 'string') return {};
  try {
    return JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Json;
  } catch {
    return {};
  }
}
