import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  type Fetcher,
  fetchBytes,
  fetchManifest,
  fetchReferencedManifest,
  fetchVerified,
  type ReadOnlyTarget,
  type ReferenceFetcher,
  type SmallContentReader,
} from './content.js';
import type { Descriptor } from './descriptor.js';
import { computeDigest } from './digest.js';
import { OciSpecError } from './errors.js';
import { MediaType } from './media-types.js';
import { VerifyingStream } from './verify-stream.js';

/** A fetcher over a map of blobs, with a way to serve the wrong bytes. */
function memoryFetcher(blobs: Map<string, Uint8Array>, tamper?: (bytes: Uint8Array) => Uint8Array): Fetcher {
  return {
    async fetch(desc) {
      const bytes = blobs.get(desc.digest);
      if (!bytes) throw new Error(`${desc.digest} not found`);
      return Readable.from([tamper ? tamper(bytes) : bytes]);
    },
  };
}

/** The same fetcher that also reads small content whole, as a target of local files does. */
function memoryReader(
  blobs: Map<string, Uint8Array>,
  tamper?: (bytes: Uint8Array) => Uint8Array,
): Fetcher & SmallContentReader & { streamed: number } {
  const fetcher = memoryFetcher(blobs, tamper);
  return {
    streamed: 0,
    async fetch(desc) {
      this.streamed += 1;
      return fetcher.fetch(desc);
    },
    async readSmall(desc) {
      const bytes = blobs.get(desc.digest);
      if (!bytes) throw new Error(`${desc.digest} not found`);
      return tamper ? tamper(bytes) : bytes;
    },
  };
}

const manifestBytes = new TextEncoder().encode(
  JSON.stringify({
    schemaVersion: 2,
    config: { mediaType: MediaType.ociConfig, digest: computeDigest('{}'), size: 2 },
    layers: [],
  }),
);
const desc: Descriptor = {
  mediaType: MediaType.ociManifest,
  digest: computeDigest(manifestBytes),
  size: manifestBytes.byteLength,
};
const blobs = new Map([[desc.digest, manifestBytes]]);

describe('fetchVerified, fetchBytes, fetchManifest', () => {
  it('fetch, verify and parse content', async () => {
    const fetcher = memoryFetcher(blobs);
    expect(await fetchVerified(fetcher, desc)).toBeInstanceOf(VerifyingStream);
    expect(Buffer.from(await fetchBytes(fetcher, desc)).equals(manifestBytes)).toBe(true);
    const parsed = await fetchManifest(fetcher, desc);
    expect(parsed).toMatchObject({ kind: 'manifest', mediaType: MediaType.ociManifest });
  });

  it('take the media type from the descriptor when the document has none', async () => {
    const parsed = await fetchManifest(memoryFetcher(blobs), {
      ...desc,
      mediaType: MediaType.dockerManifest,
    });
    expect(parsed.mediaType).toBe(MediaType.dockerManifest);
  });

  it('fail when the fetcher serves other bytes', async () => {
    const fetcher = memoryFetcher(blobs, (bytes) => {
      const copy = Uint8Array.from(bytes);
      copy[0] = 0x20;
      return copy;
    });
    const error = await fetchManifest(fetcher, desc).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OciSpecError);
    expect((error as OciSpecError).code).toBe('DIGEST_INVALID');
  });

  it('fail when the fetcher serves fewer bytes', async () => {
    const fetcher = memoryFetcher(blobs, (bytes) => bytes.subarray(1));
    await expect(fetchBytes(fetcher, desc)).rejects.toMatchObject({ code: 'SIZE_INVALID' });
  });

  it('read small content whole where the fetcher can, without a stream', async () => {
    const reader = memoryReader(blobs);
    expect(Buffer.from(await fetchBytes(reader, desc)).equals(manifestBytes)).toBe(true);
    expect(await fetchManifest(reader, desc)).toMatchObject({ kind: 'manifest' });
    expect(reader.streamed).toBe(0);
  });

  it('verify content read whole as a stream is verified: other bytes, fewer, more', async () => {
    const flipped = memoryReader(blobs, (bytes) => Uint8Array.from(bytes, (b, i) => (i === 0 ? 0x20 : b)));
    await expect(fetchManifest(flipped, desc)).rejects.toMatchObject({
      code: 'DIGEST_INVALID',
      subject: desc.digest,
      message: `content of ${desc.digest} hashes to ${computeDigest(Uint8Array.from(manifestBytes, (b, i) => (i === 0 ? 0x20 : b)))}: the source served corrupt or different bytes; nothing was kept`,
    });
    await expect(
      fetchBytes(
        memoryReader(blobs, (bytes) => bytes.subarray(1)),
        desc,
      ),
    ).rejects.toMatchObject({
      code: 'SIZE_INVALID',
      message: `content of ${desc.digest}: got ${desc.size - 1} of ${desc.size} bytes (truncated); the source served a wrong or truncated blob; nothing was kept`,
    });
    const longer = memoryReader(blobs, (bytes) => Buffer.concat([bytes, Buffer.from(' ')]));
    await expect(fetchBytes(longer, desc)).rejects.toMatchObject({ code: 'SIZE_INVALID' });
  });
});

describe('fetchReferencedManifest', () => {
  /** A target holding the manifest under the tag `v1` (its default), recording what it is asked. */
  function memoryTarget(asked: string[]): ReadOnlyTarget {
    const fetcher = memoryFetcher(blobs);
    return {
      name: 'memory',
      exists: async () => true,
      async resolve(reference = 'v1') {
        asked.push(`resolve ${reference}`);
        if (reference !== 'v1')
          throw Object.assign(new Error(`memory: ${reference} not found`), { code: 'NOT_FOUND' });
        return desc;
      },
      async fetch(fetched, options) {
        asked.push(`fetch ${fetched.digest}`);
        return fetcher.fetch(fetched, options);
      },
    };
  }

  it('asks a target that fetches by reference once, the default reference when none is given', async () => {
    const asked: string[] = [];
    const signal = new AbortController().signal;
    const target: ReadOnlyTarget & ReferenceFetcher = {
      ...memoryTarget(asked),
      async fetchReference(reference, options) {
        asked.push(`fetchReference ${reference} ${options?.signal === signal}`);
        return { descriptor: desc, bytes: manifestBytes };
      },
    };
    const found = await fetchReferencedManifest(target, undefined, { signal });
    expect(found.descriptor).toEqual(desc);
    expect(found.manifest).toMatchObject({ kind: 'manifest', mediaType: MediaType.ociManifest });
    expect(Buffer.from(found.manifest.bytes).equals(manifestBytes)).toBe(true);
    await fetchReferencedManifest(target, 'v1');
    expect(asked).toEqual(['fetchReference undefined true', 'fetchReference v1 false']);
  });

  it('resolves, then fetches and verifies, where the target cannot', async () => {
    const asked: string[] = [];
    const found = await fetchReferencedManifest(memoryTarget(asked));
    expect(found.descriptor).toEqual(desc);
    expect(found.manifest).toMatchObject({ kind: 'manifest', mediaType: MediaType.ociManifest });
    expect(asked).toEqual(['resolve v1', `fetch ${desc.digest}`]);
    await expect(fetchReferencedManifest(memoryTarget(asked), 'v2')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'memory: v2 not found',
    });
  });
});
