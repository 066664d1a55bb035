import { createHash, type Hash } from 'node:crypto';
import { OciSpecError } from './errors.js';
import { hashesOffThread, OffThreadDigester } from './hash-thread.js';

export type DigestAlgorithm = 'sha256' | 'sha512';
/** A content digest such as `sha256:9f86…`. */
export type Digest = `${DigestAlgorithm}:${string}`;

const hexLength: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

/** Parses a digest string, refusing unknown algorithms and malformed hex (both are attack surface in paths). */
export function parseDigest(value: string): ParsedDigest {
  const colon = value.indexOf(':');
  const algorithm = value.slice(0, colon) as DigestAlgorithm;
  const hex = value.slice(colon + 1);
  const length = hexLength[algorithm];
  if (colon < 0 || length === undefined) {
    throw new OciSpecError(
      'DIGEST_INVALID',
      `"${value}" is not a digest: expected sha256:<64 hex> or sha512:<128 hex>`,
      value,
    );
  }
  if (hex.length !== length || !/^[a-f0-9]+$/.test(hex)) {
    throw new OciSpecError(
      'DIGEST_INVALID',
      `"${value}" is not a valid ${algorithm} digest: expected ${length} lowercase hex characters`,
      value,
    );
  }
  return { algorithm, hex };
}

export function isDigest(value: string): value is Digest {
  try {
    parseDigest(value);
    return true;
  } catch {
    return false;
  }
}

export function digestHex(digest: string): string {
  return parseDigest(digest).hex;
}

export function computeDigest(bytes: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** Chunks from 64 KiB up (a socket read, a decompressor's output) hash as fast on their own. */
const DIRECT_BYTES = 1 << 16;
/**
 * Each hash update has a fixed cost: chunks of a few KiB are gathered into batches first, of the
 * size that hashes at full speed. No larger: every stream being hashed holds one (a 1 GB copy of
 * four layers held 4 MiB in 1 MiB batches).
 */
const BATCH_BYTES = DIRECT_BYTES;

/**
 * An incremental digest that batches small chunks before hashing them. Small chunks are copied
 * into the batch, so a caller may reuse its buffer as soon as `update` returns.
 */
export class Digester {
  readonly algorithm: DigestAlgorithm;
  #hash: Hash;
  #batch: Buffer | undefined;
  #batchBytes = 0;
  #size = 0;

  constructor(algorithm: DigestAlgorithm = 'sha256') {
    this.algorithm = algorithm;
    this.#hash = createHash(algorithm);
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.#size;
  }

  update(chunk: Uint8Array): void {
    this.#size += chunk.byteLength;
    if (chunk.byteLength >= DIRECT_BYTES) {
      // Large enough to hash at full speed as it is: copying it into the batch would only cost.
      this.#flush();
      this.#hash.update(chunk);
      return;
    }
    let offset = 0;
    while (offset < chunk.byteLength) {
      this.#batch ??= Buffer.allocUnsafe(BATCH_BYTES);
      const n = Math.min(BATCH_BYTES - this.#batchBytes, chunk.byteLength - offset);
      this.#batch.set(chunk.subarray(offset, offset + n), this.#batchBytes);
      this.#batchBytes += n;
      offset += n;
      if (this.#batchBytes === BATCH_BYTES) this.#flush();
    }
  }

  digest(): Digest {
    this.#flush();
    this.#batch = undefined;
    return `${this.algorithm}:${this.#hash.digest('hex')}`;
  }

  /** Never waits: hashing in-thread keeps up by itself (the same shape as OffThreadDigester's). */
  drained(): undefined {
    return undefined;
  }

  discard(): void {
    this.#batch = undefined;
  }

  #flush(): void {
    if (this.#batchBytes === 0) return;
    this.#hash.update(this.#batch!.subarray(0, this.#batchBytes));
    this.#batchBytes = 0;
  }
}

/**
 * A digest for content of `expectedBytes` (undefined: not known): on the helper thread where
 * opened inside `withHashThread` and the content is large (see hashesOffThread). `digest()` may then
 * be a promise; `drained()`, when it gives one, asks the producer to wait.
 */
export function openDigester(
  algorithm: DigestAlgorithm = 'sha256',
  expectedBytes?: number,
): Digester | OffThreadDigester {
  return hashesOffThread(expectedBytes) ? new OffThreadDigester(algorithm) : new Digester(algorithm);
}

/**
 * Passes a chunk on in a Transform that hashes it, once the digester may take more: at once when
 * it hashes in-thread, after the helper thread caught up when too much is in flight there.
 */
export function passWhenDrained(
  digester: { drained(): Promise<void> | undefined },
  chunk: Uint8Array,
  callback: (error?: Error | null, data?: Uint8Array) => void,
): void {
  const backlog = digester.drained();
  if (backlog) backlog.then(() => callback(null, chunk), callback);
  else callback(null, chunk);
}

/** Digest of a stream of bytes, read to the end. */
export async function computeStreamDigest(
  stream: AsyncIterable<Uint8Array>,
  algorithm: DigestAlgorithm = 'sha256',
): Promise<{ digest: Digest; size: number }> {
  const digester = new Digester(algorithm);
  for await (const chunk of stream) digester.update(chunk);
  return { digest: digester.digest(), size: digester.size };
}
