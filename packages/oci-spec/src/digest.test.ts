import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { computeDigest, computeStreamDigest, Digester, digestHex, isDigest, parseDigest } from './digest.js';
import { OciSpecError } from './errors.js';

const sha256Hex = 'a'.repeat(64);
const sha512Hex = '0123456789abcdef'.repeat(8);

describe('parseDigest', () => {
  it('parses sha256 and sha512 digests', () => {
    expect(parseDigest(`sha256:${sha256Hex}`)).toEqual({ algorithm: 'sha256', hex: sha256Hex });
    expect(parseDigest(`sha512:${sha512Hex}`)).toEqual({ algorithm: 'sha512', hex: sha512Hex });
    expect(digestHex(`sha256:${sha256Hex}`)).toBe(sha256Hex);
  });

  it.each([
    ['empty', ''],
    ['no algorithm', sha256Hex],
    ['unknown algorithm', `md5:${'a'.repeat(32)}`],
    ['prototype key as algorithm', `constructor:${sha256Hex}`],
    ['__proto__ as algorithm', `__proto__:${sha256Hex}`],
    ['uppercase hex', `sha256:${'A'.repeat(64)}`],
    ['short hex', `sha256:${'a'.repeat(63)}`],
    ['long hex', `sha256:${'a'.repeat(65)}`],
    ['sha512 length for sha256', `sha256:${sha512Hex}`],
    ['sha256 length for sha512', `sha512:${sha256Hex}`],
    ['non-hex characters', `sha256:${'g'.repeat(64)}`],
    ['path traversal', `sha256:../../${'a'.repeat(58)}`],
    ['uppercase algorithm', `SHA256:${sha256Hex}`],
    ['trailing newline', `sha256:${sha256Hex}\n`],
  ])('refuses %s', (_why, value) => {
    expect(() => parseDigest(value)).toThrow(OciSpecError);
    expect(isDigest(value)).toBe(false);
    try {
      parseDigest(value);
    } catch (error) {
      expect((error as OciSpecError).code).toBe('DIGEST_INVALID');
      expect((error as OciSpecError).message).toMatch(/digest/);
    }
  });

  it('accepts valid digests in isDigest', () => {
    expect(isDigest(`sha256:${sha256Hex}`)).toBe(true);
    expect(isDigest(`sha512:${sha512Hex}`)).toBe(true);
  });
});

describe('computeDigest', () => {
  it('hashes bytes and strings with the well-known values', () => {
    expect(computeDigest('')).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(computeDigest(new TextEncoder().encode('test'))).toBe(
      'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    );
    expect(computeDigest('', 'sha512')).toBe(
      'sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e',
    );
  });
});

describe('Digester', () => {
  const data = randomBytes(5 * (1 << 20) + 12345);
  const oneShot = (algorithm: 'sha256' | 'sha512') =>
    `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;

  it.each([1, 7, 4096, 65536, 1 << 20, (1 << 20) + 1, 3 << 20])(
    'gives the one-shot digest for %i-byte chunks',
    (chunkSize) => {
      const digester = new Digester();
      for (let offset = 0; offset < data.length; offset += chunkSize) {
        digester.update(data.subarray(offset, offset + chunkSize));
      }
      expect(digester.size).toBe(data.length);
      expect(digester.digest()).toBe(oneShot('sha256'));
    },
  );

  it('gives the one-shot digest for irregular chunks mixing small and large', () => {
    const sizes = [3, 1 << 20, 17, 2 << 20, 65536, 1, 5000];
    for (const algorithm of ['sha256', 'sha512'] as const) {
      const digester = new Digester(algorithm);
      let offset = 0;
      for (let i = 0; offset < data.length; i++) {
        const size = sizes[i % sizes.length]!;
        digester.update(data.subarray(offset, offset + size));
        offset += size;
      }
      expect(digester.digest()).toBe(oneShot(algorithm));
    }
  });

  it('lets the caller reuse its buffer after update', () => {
    const digester = new Digester();
    const buffer = Buffer.alloc(4096);
    for (let offset = 0; offset < data.length; offset += buffer.length) {
      const n = data.copy(buffer, 0, offset, offset + buffer.length);
      digester.update(buffer.subarray(0, n));
    }
    expect(digester.digest()).toBe(oneShot('sha256'));
  });

  it('digests nothing as the empty digest', () => {
    const digester = new Digester();
    expect(digester.size).toBe(0);
    expect(digester.digest()).toBe(computeDigest(''));
  });

  it('computes the digest and size of a stream', async () => {
    const chunks = [data.subarray(0, 1000), data.subarray(1000, 2 << 20), data.subarray(2 << 20)];
    expect(await computeStreamDigest(Readable.from(chunks))).toEqual({
      digest: oneShot('sha256'),
      size: data.length,
    });
    expect((await computeStreamDigest(Readable.from(chunks), 'sha512')).digest).toBe(oneShot('sha512'));
  });
});
