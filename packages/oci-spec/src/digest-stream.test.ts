import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { computeDigest } from './digest.js';
import { DigestingStream } from './digest-stream.js';

describe('DigestingStream', () => {
  it('passes every byte on and knows their digest and size at the end', async () => {
    const parts = [Buffer.from('hello '), Buffer.alloc(200_000, 7), Buffer.from('world')];
    const stream = new DigestingStream();
    const out: Buffer[] = [];
    await pipeline(Readable.from(parts), stream, async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) out.push(chunk);
    });
    const whole = Buffer.concat(parts);
    expect(Buffer.concat(out).equals(whole)).toBe(true);
    expect(stream.digest).toBe(computeDigest(whole));
    expect(stream.size).toBe(whole.length);
  });

  it('hashes with sha512 when asked', async () => {
    const stream = new DigestingStream('sha512');
    await pipeline(Readable.from([Buffer.from('abc')]), stream, async (source) => {
      for await (const _ of source);
    });
    expect(stream.digest).toBe(computeDigest('abc', 'sha512'));
  });

  it('refuses to tell a digest before the end', () => {
    const stream = new DigestingStream();
    stream.write(Buffer.from('abc'));
    expect(() => stream.digest).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
    stream.destroy();
  });
});
