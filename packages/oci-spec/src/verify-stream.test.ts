import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { computeDigest } from './digest.js';
import { OciSpecError } from './errors.js';
import { pipeInto } from './pipe-into.js';
import { ensureVerified, VerifyingStream } from './verify-stream.js';

const content = randomBytes(3 * (1 << 20) + 777);
const good = { digest: computeDigest(content), size: content.length };

function chunked(bytes: Uint8Array, size = 64 * 1024): Readable {
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += size)
    chunks.push(bytes.subarray(offset, offset + size));
  return Readable.from(chunks);
}

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await pipeline(
    stream,
    new Writable({
      write(chunk, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(chunks);
}

async function failure(promise: Promise<unknown>): Promise<OciSpecError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OciSpecError);
  return error as OciSpecError;
}

describe('VerifyingStream', () => {
  it('passes matching content through unchanged and counts bytes', async () => {
    const verifier = new VerifyingStream(good);
    const seen: number[] = [];
    verifier.onBytes = (bytes) => seen.push(bytes);
    const out = await drain(chunked(content).pipe(verifier));
    expect(out.equals(content)).toBe(true);
    expect(verifier.bytes).toBe(content.length);
    expect(seen.at(-1)).toBe(content.length);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  it('verifies sha512 digests', async () => {
    const desc = { digest: computeDigest(content, 'sha512'), size: content.length };
    const out = await drain(chunked(content).pipe(new VerifyingStream(desc)));
    expect(out.length).toBe(content.length);
  });

  it('verifies empty content', async () => {
    const desc = { digest: computeDigest(''), size: 0 };
    expect((await drain(Readable.from([]).pipe(new VerifyingStream(desc)))).length).toBe(0);
  });

  it('fails with DIGEST_INVALID when the bytes hash differently', async () => {
    const corrupt = Buffer.from(content);
    corrupt[12345] = corrupt[12345]! ^ 1;
    const error = await failure(drain(chunked(corrupt).pipe(new VerifyingStream(good))));
    expect(error.code).toBe('DIGEST_INVALID');
    expect(error.subject).toBe(good.digest);
    expect(error.message).toContain(computeDigest(corrupt));
  });

  it('fails with SIZE_INVALID when the content is truncated', async () => {
    const error = await failure(drain(chunked(content.subarray(0, 1000)).pipe(new VerifyingStream(good))));
    expect(error.code).toBe('SIZE_INVALID');
    expect(error.message).toContain(`1000 of ${content.length} bytes`);
  });

  it('fails as soon as the content is longer than the descriptor says', async () => {
    const longer = Buffer.concat([content, randomBytes(10 << 20)]);
    const verifier = new VerifyingStream(good);
    const error = await failure(drain(chunked(longer).pipe(verifier)));
    expect(error.code).toBe('SIZE_INVALID');
    expect(error.message).toContain(`more than ${content.length} bytes`);
    // It stops at the first chunk past the size rather than reading everything.
    expect(verifier.bytes).toBeLessThan(content.length + 2 * 64 * 1024);
  });

  it('refuses a descriptor whose digest is malformed', () => {
    expect(() => new VerifyingStream({ digest: 'sha256:nothex', size: 1 })).toThrow(OciSpecError);
  });
});

describe('ensureVerified', () => {
  it('returns a stream that already verifies the same descriptor as is', () => {
    const verifier = new VerifyingStream(good);
    expect(ensureVerified(verifier, good)).toBe(verifier);
    expect(ensureVerified(verifier, { ...good, size: good.size + 1 })).not.toBe(verifier);
  });

  it('releases the source when verification fails or the consumer gives up', async () => {
    const endless = () =>
      new Readable({
        read() {
          this.push(Buffer.alloc(65536));
        },
      });
    const tooLong = endless();
    await expect(drain(ensureVerified(tooLong, good))).rejects.toMatchObject({ code: 'SIZE_INVALID' });
    expect(tooLong.destroyed).toBe(true);
    const abandoned = endless();
    const verified = ensureVerified(abandoned, good);
    verified.destroy();
    await new Promise((resolve) => verified.once('close', resolve));
    expect(abandoned.destroyed).toBe(true);
  });

  it('wraps other streams and forwards source errors', async () => {
    const source = new Readable({ read() {} });
    const verified = ensureVerified(source, good);
    expect(verified).toBeInstanceOf(VerifyingStream);
    const done = drain(verified);
    source.destroy(new Error('connection reset'));
    await expect(done).rejects.toThrow('connection reset');
  });
});

describe('pipeInto', () => {
  it('fails when the content failed before it was piped, instead of waiting for ever', {
    timeout: 5000,
  }, async () => {
    const small = content.subarray(0, 1000);
    const corrupt = Buffer.from(small);
    corrupt[0] = (corrupt[0] ?? 0) ^ 1;
    const desc = { digest: computeDigest(small), size: small.length };
    // A small blob verifies (and fails) on its own while, say, an upload session starts.
    const early = ensureVerified(Readable.from([corrupt]), desc);
    await new Promise((resolve) => early.once('close', resolve));
    const verifier = pipeInto(early, new VerifyingStream(desc));
    expect((await failure(drain(verifier))).code).toBe('DIGEST_INVALID');
  });

  it('fails when the content is destroyed before its end without an error', { timeout: 5000 }, async () => {
    const source = new Readable({ read() {} });
    const verifier = pipeInto(source, new VerifyingStream(good));
    const done = drain(verifier);
    source.destroy();
    await expect(done).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
  });
});
