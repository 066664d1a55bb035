import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addAbortSignal, pipeline, type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import { layerKindOf, openDigester, passWhenDrained } from '@concil/oci-spec';
import tarStream from 'tar-stream';
import { ImageError } from './errors.js';
import type { SourceLayer } from './layer-transform.js';

/**
 * zlib's default 16 KiB output chunks cost a callback each, and a wait of libuv's thread for the
 * thread that reads the tar: 1 MiB ones cost a sixty-fourth of that (less CPU time than 256 KiB
 * ones, when four layers of the bench image are filtered at once).
 */
const DECOMPRESSED_CHUNK = 1 << 20;

/**
 * A source layer as an uncompressed tar stream, whatever its kind: tar, tar+gzip and tar+zstd
 * decompressed as they are read, the tar's digest checked against the config's diff_id at its
 * end (not hashed when the source names none); squashfs spooled to a temporary file and read back
 * as a tar by `@concil/squashfs` (its diff_id is its blob's digest, which the verified read
 * checks). Encrypted layers are refused.
 */
export async function openLayerTar(source: SourceLayer, signal?: AbortSignal): Promise<Readable> {
  const { mediaType, digest } = source.descriptor;
  const kind = layerKindOf(mediaType);
  if (!kind || kind.encrypted) {
    throw new ImageError(
      'UNSUPPORTED',
      `layer ${digest} is ${mediaType}: ${kind ? 'decrypt it first' : 'not a layer type concil reads as a tar'}`,
      digest,
    );
  }
  const blob = await source.open();
  if (signal) addAbortSignal(signal, blob);
  if (kind.compression === 'squashfs') return squashfsAsTar(blob, signal);
  const tar = new LayerTarStream(source);
  // node:zlib loaded here, not with the module: listing an image or copying its blobs never needs it.
  const zlib = process.getBuiltinModule('node:zlib');
  const decompressor =
    kind.compression === 'gzip'
      ? zlib.createGunzip({ chunkSize: DECOMPRESSED_CHUNK })
      : kind.compression === 'zstd'
        ? zlib.createZstdDecompress({ chunkSize: DECOMPRESSED_CHUNK })
        : undefined;
  if (!decompressor) return pipeline(blob, tar, () => {});
  // Listening before `pipeline` does, the error that names the layer is the one `tar` keeps.
  decompressor.once('error', (error) => {
    tar.destroy(
      new ImageError(
        'LAYER_INVALID',
        `layer ${digest} does not decompress as ${mediaType}: ${error.message}`,
        digest,
        {
          cause: error,
        },
      ),
    );
  });
  // Errors end up on `tar`, whose reader reports them; the callback has nothing to add.
  return pipeline(blob, decompressor, tar, () => {});
}

/** An entry of a layer's tar as tar-stream reads it: its header, its content as a stream. */
export type LayerTarEntry = tarStream.Extract extends AsyncIterable<infer Entry> ? Entry : never;

/**
 * The entries of a source layer's tar (see `openLayerTar`), in order, as tar-stream reads them;
 * whatever the consumer leaves of an entry's content is skipped. Errors of the layer (a digest
 * or diff_id mismatch, a broken compression) end the iteration.
 */
export async function* layerEntries(
  source: SourceLayer,
  signal?: AbortSignal,
): AsyncGenerator<LayerTarEntry> {
  const extract = tarStream.extract();
  const tar = await openLayerTar(source, signal);
  tar.on('error', (error) => extract.destroy(error));
  tar.pipe(extract as unknown as NodeJS.WritableStream);
  for await (const entry of extract) {
    yield entry;
    entry.resume(); // whatever the consumer did not read
  }
}

/**
 * The end of a layer's tar pipeline: hashes the tar, fails at its end unless it is the diff_id.
 * A source without a diff_id to check is not hashed: whoever needs the digest computes it.
 */
class LayerTarStream extends Transform {
  readonly #digester: ReturnType<typeof openDigester> | undefined;
  readonly #source: SourceLayer;

  constructor(source: SourceLayer) {
    super({ highWaterMark: 1 << 20 });
    this.#source = source;
    // The tar is at least as large as its compressed blob: a large blob hashes off-thread.
    if (source.diffId !== undefined) this.#digester = openDigester('sha256', source.descriptor.size);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#digester) {
      this.#digester.update(chunk);
      passWhenDrained(this.#digester, chunk, callback);
    } else callback(null, chunk);
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    this.#digester?.discard();
    callback(error);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#digester) {
      Promise.resolve(this.#digester.digest()).then((actual) => this.#check(actual, callback), callback);
    } else callback();
  }

  #check(actual: string, callback: TransformCallback): void {
    const { diffId, descriptor } = this.#source;
    if (actual === diffId) {
      callback();
      return;
    }
    callback(
      new ImageError(
        'DIFF_ID_MISMATCH',
        `layer ${descriptor.digest} unpacks to a tar with digest ${actual}, but the image config says ${diffId}: the image is inconsistent; nothing was kept`,
        descriptor.digest,
      ),
    );
  }
}

/** squashfs is read by random access: the verified blob goes to a temporary file first. */
async function squashfsAsTar(blob: Readable, signal: AbortSignal | undefined): Promise<Readable> {
  const spool = await mkdtemp(join(tmpdir(), 'concil-squashfs-'));
  const path = join(spool, 'layer.squashfs');
  try {
    await pipelineAsync(blob, createWriteStream(path, { highWaterMark: 1 << 20 }));
  } catch (error) {
    await rm(spool, { recursive: true, force: true });
    throw error;
  }
  const tar = (await import('@concil/squashfs')).squashfsToTar(path);
  if (signal) addAbortSignal(signal, tar);
  tar.on('close', () => void rm(spool, { recursive: true, force: true }));
  return tar;
}
