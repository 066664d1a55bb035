// The large image of the benches: an OCI layout of gzip layers mixing incompressible random
// data (stored, as gzip would store it) and compressible text, generated once and cached.
import { execFile } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { constants, crc32, deflateRawSync } from 'node:zlib';

const MiB = 1 << 20;
const MTIME = Math.floor(Date.UTC(2024, 0, 1) / 1000);

/** About 1.08 GB of gzip blobs: 4 layers × (240 MiB random + 64 MiB text → ~17 MiB). */
export const DEFAULT_BENCH_IMAGE = Object.freeze({ layers: 4, randomMiB: 240, textMiB: 64, fileMiB: 16 });

/** The default spec scaled by `scale` (e.g. 0.05 for a quick try of a bench). */
export function benchImageSpec(scale = 1) {
  if (!(scale > 0)) throw new Error(`the bench image scale must be a positive number, not ${scale}`);
  const { layers, randomMiB, textMiB, fileMiB } = DEFAULT_BENCH_IMAGE;
  return {
    layers,
    randomMiB: Math.max(1, Math.round(randomMiB * scale)),
    textMiB: Math.max(1, Math.round(textMiB * scale)),
    fileMiB: Math.max(1, Math.min(fileMiB, Math.round(fileMiB * scale))),
  };
}

/**
 * Returns the cached bench image under `cacheDir`, generating it first when it is not there.
 * The result: `{ dir, tag, reference ('oci:DIR:TAG'), manifest, config, layers, blobs, totalBytes }`
 * where `blobs` are the config and layer descriptors (what a copy downloads besides the manifest).
 */
export async function ensureBenchImage({ cacheDir, spec = benchImageSpec(), log = () => {} }) {
  const key = `image-${spec.layers}x-r${spec.randomMiB}-t${spec.textMiB}-f${spec.fileMiB}-v2`;
  const dir = join(cacheDir, key);
  const marker = join(dir, 'bench-image.json');
  try {
    const cached = JSON.parse(await readFile(marker, 'utf8'));
    // The cache may have been made from another checkout: the image is the same, its place is here.
    return { ...cached, dir, reference: `oci:${dir}:${cached.tag}` };
  } catch {
    // not generated yet
  }
  await rm(dir, { recursive: true, force: true });
  const blobDir = join(dir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });
  const started = Date.now();
  log(`generating the bench image in ${dir} …`);
  const pool = textPool();
  // Layers are generated in parallel: gzip runs on libuv's thread pool.
  const layers = await Promise.all(
    Array.from({ length: spec.layers }, (_, index) => writeLayer(blobDir, index, spec, pool)),
  );
  const config = {
    created: new Date(MTIME * 1000).toISOString(),
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/bin/sh'], Env: ['PATH=/usr/bin:/bin'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({ created_by: `bench layer ${i}` })),
  };
  const configDesc = await writeJsonBlob(blobDir, 'application/vnd.oci.image.config.v1+json', config);
  const layerDescs = layers.map(({ digest, size }) => ({
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    digest,
    size,
  }));
  const manifest = await writeJsonBlob(blobDir, 'application/vnd.oci.image.manifest.v1+json', {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: configDesc,
    layers: layerDescs,
  });
  const tag = 'latest';
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  );
  const blobs = [configDesc, ...layerDescs];
  const image = {
    dir,
    tag,
    reference: `oci:${dir}:${tag}`,
    spec,
    manifest,
    config: configDesc,
    layers: layerDescs,
    blobs,
    totalBytes: blobs.reduce((sum, b) => sum + b.size, 0) + manifest.size,
    uncompressedBytes: layers.reduce((sum, l) => sum + l.tarSize, 0),
  };
  await writeFile(marker, JSON.stringify(image, null, 2));
  log(`generated ${layers.length} layers in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return image;
}

/** Pushes an OCI layout reference (`oci:DIR:TAG`) to a registry with skopeo, e.g. to `docker://127.0.0.1:5000/bench:latest`. */
export async function pushImage(reference, destination) {
  await promisify(execFile)(
    'skopeo',
    ['--insecure-policy', 'copy', '--quiet', '--dest-tls-verify=false', reference, destination],
    { maxBuffer: 16 << 20 },
  );
}

async function writeJsonBlob(blobDir, mediaType, value) {
  const bytes = Buffer.from(JSON.stringify(value));
  const hex = createHash('sha256').update(bytes).digest('hex');
  await writeFile(join(blobDir, hex), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
}

/**
 * One layer, written as a single gzip member by hand: tar headers and random data go into
 * deflate stored blocks (what gzip makes of incompressible data, at memory speed), text goes
 * in as raw deflate at level 1, compressed once per length and reused.
 */
async function writeLayer(blobDir, index, spec, pool) {
  const temporary = join(blobDir, `.layer-${index}.tmp`);
  const gzip = new GzipWriter(createWriteStream(temporary, { highWaterMark: 4 * MiB }));
  const tarHash = createHash('sha256');
  let tarSize = 0;
  const stored = async (chunk) => {
    tarHash.update(chunk);
    tarSize += chunk.length;
    await gzip.stored(chunk);
  };

  const fileBytes = spec.fileMiB * MiB;
  const files = [];
  for (let left = spec.textMiB * MiB, i = 0; left > 0; left -= fileBytes, i++) {
    files.push({
      name: `layer-${index}/text/log-${String(i).padStart(3, '0')}.txt`,
      size: Math.min(left, fileBytes),
      text: true,
    });
  }
  for (let left = spec.randomMiB * MiB, i = 0; left > 0; left -= fileBytes, i++) {
    files.push({
      name: `layer-${index}/random/blob-${String(i).padStart(3, '0')}.bin`,
      size: Math.min(left, fileBytes),
      text: false,
    });
  }

  await stored(tarHeader(`layer-${index}/`, 0, '5', 0o755));
  await stored(tarHeader(`layer-${index}/text/`, 0, '5', 0o755));
  await stored(tarHeader(`layer-${index}/random/`, 0, '5', 0o755));
  for (const [fileIndex, file] of files.entries()) {
    await stored(tarHeader(file.name, file.size, '0', 0o644));
    if (file.text) {
      for (let written = 0; written < file.size; ) {
        const n = Math.min(pool.text.length, file.size - written);
        const text = pool.text.subarray(0, n);
        tarHash.update(text);
        tarSize += n;
        await gzip.deflated(text, pool.deflated(n));
        written += n;
      }
    } else {
      const key = createHash('sha256').update(`concil bench ${index} ${fileIndex}`).digest().subarray(0, 16);
      const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
      const zeros = Buffer.alloc(MiB);
      for (let written = 0; written < file.size; written += MiB) {
        await stored(cipher.update(zeros.subarray(0, Math.min(MiB, file.size - written))));
      }
    }
    const padding = (512 - (file.size % 512)) % 512;
    if (padding) await stored(Buffer.alloc(padding));
  }
  await stored(Buffer.alloc(1024)); // end of archive
  const { digest, size } = await gzip.end();
  await rename(temporary, join(blobDir, digest.slice('sha256:'.length)));
  return { digest, size, diffId: `sha256:${tarHash.digest('hex')}`, tarSize };
}

/** A gzip member assembled from deflate blocks (RFC 1951, 1952), hashed as it is written. */
class GzipWriter {
  #out;
  #hash = createHash('sha256');
  #size = 0;
  #crc = 0;
  #inputSize = 0;
  #pending = [];
  #pendingBytes = 0;

  constructor(out) {
    this.#out = out;
    // magic, deflate, no flags, mtime 0, no extra flags, OS unix
    this.#push(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]));
  }

  /** Data as stored blocks (at most 65535 bytes each), byte-aligned as every block here ends. */
  async stored(data) {
    this.#account(data);
    for (let offset = 0; offset < data.length; offset += 65535) {
      const block = data.subarray(offset, offset + 65535);
      const header = Buffer.alloc(5);
      header.writeUInt16LE(block.length, 1);
      header.writeUInt16LE(~block.length & 0xffff, 3);
      this.#push(header);
      this.#push(block);
    }
    await this.#flushIfFull();
  }

  /** Data with its raw deflate (ending in a sync flush, so byte-aligned and not final). */
  async deflated(data, raw) {
    this.#account(data);
    this.#push(raw);
    await this.#flushIfFull();
  }

  async end() {
    this.#push(Buffer.from([1, 0, 0, 0xff, 0xff])); // final empty stored block
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.#crc >>> 0, 0);
    trailer.writeUInt32LE(this.#inputSize % 2 ** 32, 4);
    this.#push(trailer);
    await this.#flush();
    this.#out.end();
    await once(this.#out, 'finish');
    return { digest: `sha256:${this.#hash.digest('hex')}`, size: this.#size };
  }

  #account(data) {
    this.#crc = crc32(data, this.#crc);
    this.#inputSize += data.length;
  }

  #push(bytes) {
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
  }

  async #flushIfFull() {
    if (this.#pendingBytes >= 4 * MiB) await this.#flush();
  }

  async #flush() {
    if (this.#pendingBytes === 0) return;
    const chunk = Buffer.concat(this.#pending);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#hash.update(chunk);
    this.#size += chunk.length;
    if (!this.#out.write(chunk)) await once(this.#out, 'drain');
  }
}

/** 4 MiB of log-like text (about 3:1 at gzip level 1) and its raw deflate by length, cached. */
function textPool() {
  const words = (
    'request response client server upstream cache miss hit layer blob manifest digest verify ' +
    'registry token retry timeout pull push mount commit abort stream chunk range bytes'
  ).split(' ');
  const levels = ['INFO', 'DEBUG', 'WARN', 'INFO', 'INFO', 'ERROR'];
  const lines = [];
  let length = 0;
  let state = 0x9e3779b9;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  for (let i = 0; length < 4 * MiB; i++) {
    const seconds = String(i % 60).padStart(2, '0');
    const line =
      `2024-01-01T00:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${seconds}.${String(next() % 1000).padStart(3, '0')}Z ` +
      `${levels[next() % levels.length]} ${words[next() % words.length]} ${words[next() % words.length]} ` +
      `id=${(next() % 100000).toString(16)} took=${next() % 5000}ms size=${next() % 1000000}\n`;
    lines.push(line);
    length += line.length;
  }
  const text = Buffer.from(lines.join('')).subarray(0, 4 * MiB);
  const cache = new Map();
  const deflated = (length) => {
    if (!cache.has(length)) {
      cache.set(
        length,
        deflateRawSync(text.subarray(0, length), { level: 1, finishFlush: constants.Z_SYNC_FLUSH }),
      );
    }
    return cache.get(length);
  };
  return { text, deflated };
}

/** A ustar header for a file ('0') or directory ('5') owned by 0:0. */
function tarHeader(name, size, type, mode) {
  const header = Buffer.alloc(512);
  if (Buffer.byteLength(name) > 100) throw new Error(`tar name too long: ${name}`);
  header.write(name, 0);
  header.write(`${mode.toString(8).padStart(7, '0')}\0`, 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  header.write(`${MTIME.toString(8).padStart(11, '0')}\0`, 136);
  header.write('        ', 148);
  header.write(type, 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return header;
}
