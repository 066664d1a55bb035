import { crc32 } from 'node:zlib';

/**
 * The .xz container around one raw LZMA2 stream, as squashfs-tools makes each block with liblzma's
 * lzma_stream_buffer_encode: one block, CRC32 check, both sizes in the block header. The library we
 * use writes raw LZMA2 with any dictionary size but declares 8 MiB in its own .xz output, more than
 * the kernel's decoder (sized to the image's dictionary) accepts.
 */

const MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const FOOTER_MAGIC = Buffer.from('YZ');
const CHECK_CRC32 = 0x01;
const FILTER_LZMA2 = 0x21;
/** Bytes of the integrity check after each block, by check id (0 none, 1 CRC32, 4 CRC64, 10 SHA-256). */
const CHECK_SIZE = [0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64];

function vli(n: number): number[] {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n % 0x80) | 0x80);
  out.push(n);
  return out;
}

function crcLE(bytes: Uint8Array): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(crc32(bytes), 0);
  return b;
}

/** Zero bytes that bring `n` to a multiple of four. */
function pad4(n: number): number[] {
  return new Array((4 - (n % 4)) % 4).fill(0);
}

/** LZMA2's one-byte dictionary size: the smallest 2^n or 3 * 2^(n-1) that holds `size`. */
export function dictSizeByte(size: number): number {
  let b = 0;
  while (b < 40 && (2 | (b & 1)) * 2 ** (Math.floor(b / 2) + 11) < size) b++;
  return b;
}

/** A complete .xz stream holding `lzma2`, the raw LZMA2 encoding of `data` with this dictionary. */
export function xzStream(lzma2: Uint8Array, data: Uint8Array, dictSize: number): Buffer {
  const flags = Buffer.from([0x00, CHECK_CRC32]);
  const streamHeader = Buffer.concat([MAGIC, flags, crcLE(flags)]);
  // Block header: size, flags (one filter, both sizes present), sizes, LZMA2 filter flags.
  const fields = [0xc0, ...vli(lzma2.length), ...vli(data.length), FILTER_LZMA2, 1, dictSizeByte(dictSize)];
  fields.push(...pad4(fields.length + 1));
  const headerSize = fields.length + 1 + 4;
  const header = Buffer.from([headerSize / 4 - 1, ...fields]);
  const blockHeader = Buffer.concat([header, crcLE(header)]);
  const blockEnd = Buffer.concat([Buffer.from(pad4(lzma2.length)), crcLE(data)]);
  const records = [0x00, 1, ...vli(headerSize + lzma2.length + 4), ...vli(data.length)];
  records.push(...pad4(records.length));
  const index = Buffer.from(records);
  const footerFields = Buffer.alloc(6);
  footerFields.writeUInt32LE((index.length + 4) / 4 - 1, 0);
  flags.copy(footerFields, 4);
  return Buffer.concat([
    streamHeader,
    blockHeader,
    lzma2,
    blockEnd,
    index,
    crcLE(index),
    crcLE(footerFields),
    footerFields,
    FOOTER_MAGIC,
  ]);
}

/**
 * How many bytes an .xz stream decodes to, from the chunk headers of its LZMA2 data (each chunk
 * states its size), without decoding it: so a damaged or hostile block is refused before it can
 * inflate past the size the caller expects. Checks the structure only; the decoder checks the CRCs.
 * Throws a plain Error on a malformed stream: the caller knows what it was reading.
 */
export function xzDecodedSize(xz: Uint8Array): number {
  const bad = (what: string) => new Error(`malformed xz stream: ${what}`);
  const b = Buffer.from(xz.buffer, xz.byteOffset, xz.byteLength);
  if (b.length < 32 || !b.subarray(0, 6).equals(MAGIC) || !b.subarray(-2).equals(FOOTER_MAGIC)) {
    throw bad('no xz stream header or footer');
  }
  const checkSize = CHECK_SIZE[b[7]! & 0x0f]!;
  const indexStart = b.length - 12 - (b.readUInt32LE(b.length - 8) + 1) * 4;
  let p = 12;
  const need = (n: number) => {
    if (p + n > indexStart) throw bad('truncated');
  };
  const readVli = (): number => {
    let n = 0;
    for (let shift = 1; ; shift *= 0x80) {
      need(1);
      const byte = b[p++]!;
      n += (byte & 0x7f) * shift;
      if (byte < 0x80) return n;
      if (shift > 2 ** 42) throw bad('size field too long');
    }
  };
  let total = 0;
  while (p < indexStart) {
    // Block header: its size, flags, optional sizes, then the filter chain whose last filter is LZMA2.
    const start = p;
    const headerEnd = start + (b[p]! + 1) * 4;
    need(headerEnd - start);
    const blockFlags = b[p + 1]!;
    p += 2;
    if (blockFlags & 0x40) readVli();
    if (blockFlags & 0x80) readVli();
    let last = 0;
    for (let f = 0; f <= (blockFlags & 3); f++) {
      last = readVli();
      const propsSize = readVli();
      p += propsSize;
    }
    if (last !== FILTER_LZMA2 || p > headerEnd) throw bad('not LZMA2');
    p = headerEnd;
    // LZMA2 chunks: 0x00 ends, 0x01/0x02 uncompressed, 0x80 and up LZMA-compressed.
    for (;;) {
      need(1);
      const control = b[p++]!;
      if (control === 0x00) break;
      if (control === 0x01 || control === 0x02) {
        need(2);
        const size = b.readUInt16BE(p) + 1;
        total += size;
        p += 2 + size;
      } else if (control >= 0x80) {
        need(4);
        total += (control & 0x1f) * 0x10000 + b.readUInt16BE(p) + 1;
        p += 4 + (control >= 0xc0 ? 1 : 0) + b.readUInt16BE(p + 2) + 1;
      } else {
        throw bad(`LZMA2 control byte ${control}`);
      }
    }
    p += pad4(p).length + checkSize;
  }
  if (p !== indexStart || b[p] !== 0x00) throw bad('no index where the footer says');
  return total;
}
