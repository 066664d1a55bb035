import { type Descriptor, type FetchOptions, fetchBytes, type ReadOnlyTarget } from '@concil/oci-spec';
import { reject, type SignatureVerdict } from './check-signature.js';

/** Payloads and bundles are a few kilobytes; a larger layer is no signature worth fetching. */
const MAX_ATTACHMENT_BYTES = 1024 * 1024;

/**
 * The bytes of a signature's layer (a simple-signing payload, a bundle), digest-checked; or the
 * verdict that refuses it: too large to be one, or not the bytes its descriptor names.
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
    return await fetchBytes(target, layer, options);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'DIGEST_INVALID' && code !== 'SIZE_INVALID') throw error;
    return reject('PAYLOAD_DIGEST_MISMATCH', `the ${what} blob is not the bytes ${layer.digest} names`);
  }
}
