import {
  type Descriptor,
  type FetchOptions,
  fetchEmbeddedOrBytes,
  type ReadOnlyTarget,
} from '@concil/oci-spec';
import { reject, type SignatureVerdict } from './check-signature.js';

/** Payloads and bundles are a few kilobytes; a larger layer is no signature worth fetching. */
const MAX_ATTACHMENT_BYTES = 1024 * 1024;

/**
 * The bytes of a signature's layer (a simple-signing payload, a bundle), digest-checked — from the
 * descriptor's `data` where it carries them (concil's bundles), else fetched; or the verdict that
 * refuses it: too large to be one, or not the bytes its descriptor names.
 */
export async function fetchAttachment(
  target: ReadOnlyTarget,
  layer: Descriptor,
  what: 'simple-signing payload' | 'bundle',
  options: FetchOptions,
): Promise<Uint8Array | SignatureVerdict> {
  const invalid = what === 'bundle' ? 'BUNDLE_INVALID' : 'PAYLOAD_INVALID';
  if (layer.size > MAX_ATTACHMENT_BYTES) {
    return reject(invalid, `a layer of ${layer.size} bytes (${layer.digest}) is no ${what}`);
  }
  try {
    return await fetchEmbeddedOrBytes(target, layer, options);
  } catch (error) {
    const mismatch = digestMismatch(error);
    if (!mismatch) throw error;
    const where = layer.data === undefined ? 'blob' : 'embedded in its descriptor (data)';
    return reject('PAYLOAD_DIGEST_MISMATCH', `the ${what} ${where} is not the bytes ${layer.digest} names`);
  }
}

/** Whether an error says that content is not what its descriptor names (digest or size). */
export function digestMismatch(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'DIGEST_INVALID' || code === 'SIZE_INVALID';
}
