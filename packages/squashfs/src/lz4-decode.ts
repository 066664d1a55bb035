import { SquashfsError } from './errors.js';

/**
 * Decodes one raw LZ4 block into at most `maxSize` bytes, refusing what liblz4's safe decoder
 * refuses. lz4js's own decoder does not check: it reads past the end of the input and copies
 * matches from before the start of the output as zeros, so a damaged block read back as garbage.
 */
export function decodeLz4Block(src: Uint8Array, maxSize: number): Buffer {
  const out = Buffer.allocUnsafe(Math.max(maxSize, 1));
  let s = 0;
  let d = 0;
  const fail = (why: string): never => {
    throw new SquashfsError(
      'CORRUPT_IMAGE',
      `corrupt squashfs image: an lz4 block does not decompress (${why})`,
    );
  };
  /** A 4-bit length, and the bytes that extend it while they are 255. */
  const length = (nibble: number): number => {
    let n = nibble;
    if (nibble !== 15) return n;
    for (let more = 255; more === 255; n += more) {
      if (s >= src.length) fail('a length runs past the end of the block');
      more = src[s++]!;
    }
    return n;
  };
  while (s < src.length) {
    const token = src[s++]!;
    const literals = length(token >> 4);
    if (s + literals > src.length) fail('literals run past the end of the block');
    if (d + literals > out.length) fail(`it holds more than the ${maxSize} bytes expected`);
    out.set(src.subarray(s, s + literals), d);
    s += literals;
    d += literals;
    if (s === src.length) return out.subarray(0, d); // a block ends with literals
    if (s + 2 > src.length) fail('a match offset is cut off');
    const offset = src[s]! | (src[s + 1]! << 8);
    s += 2;
    if (offset === 0 || offset > d) fail(`a match refers to ${offset} bytes back, before the start`);
    const match = length(token & 15) + 4;
    if (d + match > out.length) fail(`it holds more than the ${maxSize} bytes expected`);
    // An overlapping match repeats what it is writing: copy it byte by byte.
    if (match <= offset) out.copyWithin(d, d - offset, d - offset + match);
    else for (let i = 0; i < match; i++) out[d + i] = out[d - offset + i]!;
    d += match;
  }
  return fail('the block ends with a match, not with literals');
}
