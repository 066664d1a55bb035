import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { computeDigest, openDigester } from './digest.js';
import { DigestingStream } from './digest-stream.js';
import { OFF_THREAD_BYTES, OffThreadDigester, withHashThread } from './hash-thread.js';
import { VerifyingStream } from './verify-stream.js';

// Larger than the threshold and not a whole number of batches, so the last batch is partial.
const content = randomBytes(OFF_THREAD_BYTES + 3 * (1 << 20) + 12345);
const expected = { digest: computeDigest(content), size: content.length };

function chunked(bytes: Uint8Array, size: number): Readable {
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += size)
    chunks.push(bytes.subarray(offset, offset + size));
  return Readable.from(chunks);
}

const sink = () =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });

describe('hashing on the helper thread', () => {
  it('gives the digest an in-thread hash gives, whatever the chunks', async () => {
    for (const size of [1000, 64 * 1024, 3 << 20]) {
      const digester = new OffThreadDigester('sha256');
      for (let offset = 0; offset < content.length; offset += size) {
        digester.update(content.subarray(offset, offset + size));
        await digester.drained();
      }
      expect(digester.size).toBe(content.length);
      expect(await digester.digest()).toBe(expected.digest);
    }
    const empty = new OffThreadDigester('sha512');
    expect(await empty.digest()).toBe(computeDigest(new Uint8Array(0), 'sha512'));
  });

  it('inside withHashThread: takes large content and, once it runs, content of unknown size', () => {
    const [small, large, unknown] = withHashThread(() => [
      openDigester('sha256', 1024),
      openDigester('sha256', OFF_THREAD_BYTES),
      openDigester('sha256'),
    ]);
    expect(small).not.toBeInstanceOf(OffThreadDigester);
    expect(large).toBeInstanceOf(OffThreadDigester);
    expect(unknown).toBeInstanceOf(OffThreadDigester);
    for (const digester of [small, large, unknown]) digester.discard();
  });

  it('is scoped to the async flow withHashThread runs: work beside it and after it hashes in-thread', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const inside = withHashThread(async () => {
      await held;
      return openDigester('sha256', OFF_THREAD_BYTES);
    });
    const beside = openDigester('sha256', OFF_THREAD_BYTES);
    release();
    const late = await inside;
    const after = openDigester('sha256', OFF_THREAD_BYTES);
    expect(late).toBeInstanceOf(OffThreadDigester);
    expect(beside).not.toBeInstanceOf(OffThreadDigester);
    expect(after).not.toBeInstanceOf(OffThreadDigester);
    for (const digester of [late, beside, after]) digester.discard();
  });

  it('verifies large content in a VerifyingStream, and refuses one changed byte', async () => {
    const verifying = () => withHashThread(() => new VerifyingStream(expected));
    await pipeline(chunked(content, 256 * 1024), verifying(), sink());
    const damaged = Buffer.from(content);
    damaged[damaged.length - 5]! ^= 1;
    const failure = pipeline(chunked(damaged, 256 * 1024), verifying(), sink());
    await expect(failure).rejects.toMatchObject({ code: 'DIGEST_INVALID', subject: expected.digest });
  });

  it('names content of unknown size in a DigestingStream', async () => {
    const hashing = withHashThread(() => new DigestingStream());
    await pipeline(chunked(content, 1 << 20), hashing, sink());
    expect(hashing.digest).toBe(expected.digest);
    expect(hashing.size).toBe(content.length);
  });
});
