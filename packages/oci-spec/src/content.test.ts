import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type Fetcher, fetchBytes, fetchManifest, fetchVerified } from './content.js';
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
});
