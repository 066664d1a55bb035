import { type Fetcher, type FetchOptions, fetchBytes } from './content.js';
import type { Descriptor } from './descriptor.js';
import { computeDigest, parseDigest } from './digest.js';
import { OciSpecError } from './errors.js';

/**
 * Content at most this large may ride in its descriptor's `data` field (OCI 1.1: the content
 * itself, base64), saving a request: a signature's bundle, a referrer manifest. Registries take
 * manifests of up to 4 MiB, and every descriptor of an index carries its own.
 */
export const MAX_EMBEDDED_BYTES = 16 * 1024;

/** The descriptor with `bytes` (its content) embedded as `data`, if they are small enough. */
export function withEmbeddedContent(desc: Descriptor, bytes: Uint8Array): Descriptor {
  if (bytes.byteLength > MAX_EMBEDDED_BYTES) return desc;
  return { ...desc, data: Buffer.from(bytes).toString('base64') };
}

/**
 * The content embedded in a descriptor's `data`, checked against its size and digest as the
 * image-spec asks; undefined when it has none. Bytes that do not match are refused, not ignored:
 * the document holding the descriptor was altered.
 */
export function embeddedContent(desc: Descriptor): Uint8Array | undefined {
  if (desc.data === undefined) return undefined;
  const bytes = Buffer.from(desc.data, 'base64');
  const where = `the content embedded in the descriptor of ${desc.digest} (its data field)`;
  if (bytes.byteLength !== desc.size) {
    throw new OciSpecError(
      'SIZE_INVALID',
      `${where} is ${bytes.byteLength} bytes, not the ${desc.size} the descriptor names: the document holding it was altered; rewrite it`,
      desc.digest,
    );
  }
  if (computeDigest(bytes, parseDigest(desc.digest).algorithm) !== desc.digest) {
    throw new OciSpecError(
      'DIGEST_INVALID',
      `${where} does not match that digest: the document holding it was altered; rewrite it`,
      desc.digest,
    );
  }
  return bytes;
}

/** The verified bytes of small content: from its descriptor's `data` (no request), else fetched. */
export async function fetchEmbeddedOrBytes(
  fetcher: Fetcher,
  desc: Descriptor,
  options?: FetchOptions,
): Promise<Uint8Array> {
  return embeddedContent(desc) ?? fetchBytes(fetcher, desc, options);
}
