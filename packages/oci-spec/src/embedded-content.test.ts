import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Fetcher } from './content.js';
import type { Descriptor } from './descriptor.js';
import { computeDigest } from './digest.js';
import {
  embeddedContent,
  fetchEmbeddedOrBytes,
  MAX_EMBEDDED_BYTES,
  withEmbeddedContent,
} from './embedded-content.js';

const bytes = Buffer.from('{"a signature bundle":true}');
const desc: Descriptor = {
  mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
  digest: computeDigest(bytes),
  size: bytes.length,
};

/** Counts its fetches; serves `bytes`. */
function countingFetcher(): Fetcher & { fetches: number } {
  return {
    fetches: 0,
    async fetch() {
      this.fetches += 1;
      return Readable.from([bytes]);
    },
  };
}

describe('embedded content (the descriptor data field)', () => {
  it('embeds small content as base64 and reads it back without a fetch', async () => {
    const embedded = withEmbeddedContent(desc, bytes);
    expect(embedded).toEqual({ ...desc, data: bytes.toString('base64') });
    const fetcher = countingFetcher();
    expect(Buffer.from(await fetchEmbeddedOrBytes(fetcher, embedded))).toEqual(bytes);
    expect(fetcher.fetches).toBe(0);
  });

  it('fetches what carries no data', async () => {
    const fetcher = countingFetcher();
    expect(embeddedContent(desc)).toBeUndefined();
    expect(Buffer.from(await fetchEmbeddedOrBytes(fetcher, desc))).toEqual(bytes);
    expect(fetcher.fetches).toBe(1);
  });

  it(`embeds nothing above ${MAX_EMBEDDED_BYTES} bytes`, () => {
    const large = Buffer.alloc(MAX_EMBEDDED_BYTES + 1);
    const largeDesc = { ...desc, digest: computeDigest(large), size: large.length };
    expect(withEmbeddedContent(largeDesc, large)).toBe(largeDesc);
  });

  it('refuses data that is not the content the descriptor names, rather than fetching', async () => {
    const fetcher = countingFetcher();
    const otherBytes = Buffer.from('{"a signature bundle":false}');
    await expect(
      fetchEmbeddedOrBytes(fetcher, { ...desc, data: otherBytes.toString('base64') }),
    ).rejects.toMatchObject({
      code: 'SIZE_INVALID',
      subject: desc.digest,
      message: `the content embedded in the descriptor of ${desc.digest} (its data field) is ${otherBytes.length} bytes, not the ${desc.size} the descriptor names: the document holding it was altered; rewrite it`,
    });
    const sameSize = Buffer.from('{"a signature bundle":tru3}');
    expect(() => embeddedContent({ ...desc, data: sameSize.toString('base64') })).toThrow(
      expect.objectContaining({ code: 'DIGEST_INVALID', subject: desc.digest }),
    );
    expect(fetcher.fetches).toBe(0);
  });
});
