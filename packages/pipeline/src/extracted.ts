import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import {
  type Descriptor,
  type Digest,
  encodeManifest,
  type FetchOptions,
  jsonNumber,
  jsonObject,
  MediaType,
  parseJson,
  validate,
} from '@concil/oci-spec';
import * as v from 'valibot';
import { PipelineError } from './errors.js';
import { extractedLayerTar, type LayerRecord, layerRecord } from './extracted-tar.js';
import { checkDiffId, type ImageToWrite, isSquashfs, UnpackingTarget } from './unpacking-target.js';

/** What `extracted:` records of an image: enough to write it again from the layers' trees. */
const descriptorRecord = jsonObject({ mediaType: v.string(), digest: v.string(), size: jsonNumber });
const imageRecordSchema = jsonObject({
  name: v.string(),
  /** The manifest the image was written from (its layers as they were compressed then). */
  manifest: descriptorRecord,
  config: descriptorRecord,
  /** Each layer: the blob it was unpacked from (its tree's name) and its tar's digest. */
  layers: v.array(jsonObject({ digest: v.string(), diffId: v.string() })),
});
type ImageRecord = v.InferOutput<typeof imageRecordSchema>;

const layerRecordSchema = jsonObject({
  diffId: v.string(),
  tarSize: jsonNumber,
  // Strict: a plain `tuple` would read [size, path, size] as [size] and drop the rest.
  entries: v.array(
    v.union([v.strictTuple([jsonNumber]), v.strictTuple([jsonNumber, v.string(), jsonNumber])]),
  ),
});

/**
 * `extracted:DIR[:NAME:TAG]`: images unpacked into DIR, one directory per layer named by its
 * digest (`layers/sha256/HEX/`, whiteouts kept as the files they are), shared by every image that
 * has the layer, plus a record per image (`images/NAME:TAG.json`) and per layer (its tar's headers,
 * `HEX.headers`, and `HEX.json`) from which the image is written again with the same diff_ids:
 * read as a source, it gives the image with its layers as uncompressed tars.
 */
export class Extracted extends UnpackingTarget {
  readonly name: string;
  protected readonly whiteouts = 'keep' as const;
  protected override readonly keepHeaders = true;
  /** Manifests made when reading, by digest. */
  readonly #manifests = new Map<string, Uint8Array>();
  readonly #reading = new Map<string, { record: ImageRecord; layer: ImageRecord['layers'][number] }>();

  constructor(
    path: string,
    readonly reference?: string,
  ) {
    super(resolve(path));
    this.name = `extracted:${path}${reference ? `:${reference}` : ''}`;
  }

  override async exists(desc: Descriptor): Promise<boolean> {
    if (await super.exists(desc)) return true;
    return (
      (await stat(this.#inDestination(`${this.layerPath(desc.digest)}.json`)).catch(() => undefined)) !==
      undefined
    );
  }

  override async push(desc: Descriptor, content: Readable, options?: FetchOptions): Promise<void> {
    this.#refuseSquashfs(desc);
    return super.push(desc, content, options);
  }

  override async ingest(mediaType: string, content: Readable, options?: FetchOptions): Promise<Descriptor> {
    this.#refuseSquashfs({ mediaType, digest: `sha256:${'0'.repeat(64)}`, size: 0 });
    return super.ingest(mediaType, content, options);
  }

  /** A squashfs layer's diff_id is its own digest: written again as a tar, it would not match. */
  #refuseSquashfs(desc: Descriptor): void {
    if (!isSquashfs(desc)) return;
    throw new PipelineError(
      'UNSUPPORTED',
      `${this.name}: layer ${desc.size ? desc.digest : `of ${desc.mediaType}`} is squashfs, whose diff_id is its own digest, which a tar written again from the tree cannot have; convert the layers to tar (concil copy --tar-gzip) or use bundle: or mounts:`,
      desc.size ? desc.digest : desc.mediaType,
    );
  }

  protected async finish(image: ImageToWrite): Promise<void> {
    const staging = await this.staging.path();
    const parts: { path: string; replace: boolean }[] = [];
    const layers: ImageRecord['layers'] = [];
    for (const [i, desc] of image.manifest.layers.entries()) {
      const path = this.layerPath(desc.digest);
      const staged = this.layers.get(desc.digest);
      let diffId: string;
      if (staged) {
        const layer = await staged;
        diffId = layer.diffId;
        const record = layerRecord(layer.diffId, layer.tarSize, layer.entries);
        await writeFile(join(staging, `${path}.json`), JSON.stringify(record));
        // The record last: a layer whose record is there is complete.
        parts.push(
          { path, replace: false },
          { path: `${path}.headers`, replace: false },
          { path: `${path}.json`, replace: false },
        );
      } else {
        diffId = (await this.#layerRecord(desc.digest)).diffId;
      }
      checkDiffId(desc, diffId, image.config.rootfs.diff_ids[i]);
      layers.push({ digest: desc.digest, diffId });
    }
    const config = image.manifest.config;
    const configPath = `blobs/${config.digest.replace(':', '/')}`;
    await mkdir(dirname(join(staging, configPath)), { recursive: true });
    await writeFile(join(staging, configPath), image.configBytes);
    parts.push({ path: configPath, replace: false });
    const name = image.reference ?? this.reference ?? image.manifestDescriptor.digest;
    const record: ImageRecord = {
      name,
      manifest: bare(image.manifestDescriptor),
      config: bare(config),
      layers,
    };
    const recordPath = `images/${encodeURIComponent(name)}.json`;
    await mkdir(join(staging, 'images'), { recursive: true });
    await writeFile(join(staging, recordPath), `${JSON.stringify(record, null, 2)}\n`);
    parts.push({ path: recordPath, replace: true });
    await this.staging.moveInto(parts);
  }

  /** The image as an OCI (or, for a Docker config, Docker v2s2) manifest of uncompressed layers. */
  override async resolve(reference = this.reference): Promise<Descriptor> {
    const record = await this.#imageRecord(reference);
    const docker = record.config.mediaType === MediaType.dockerConfig;
    const layers: Descriptor[] = [];
    for (const layer of record.layers) {
      const { tarSize } = await this.#layerRecord(layer.digest);
      layers.push({
        mediaType: docker ? MediaType.dockerLayerTar : MediaType.ociLayerTar,
        digest: layer.diffId as Digest,
        size: tarSize,
      });
      this.#reading.set(layer.diffId, { record, layer });
    }
    const mediaType = docker ? MediaType.dockerManifest : MediaType.ociManifest;
    const { bytes, descriptor } = encodeManifest(
      {
        schemaVersion: 2,
        mediaType,
        config: { ...record.config, digest: record.config.digest as Digest },
        layers,
      },
      mediaType,
    );
    this.#manifests.set(descriptor.digest, bytes);
    return descriptor;
  }

  override async fetch(desc: Descriptor): Promise<Readable> {
    const manifest = this.#manifests.get(desc.digest);
    if (manifest) return Readable.from([Buffer.from(manifest)]);
    const layer = this.#reading.get(desc.digest);
    if (layer) {
      const path = this.layerPath(layer.layer.digest);
      return extractedLayerTar(
        this.#inDestination(path),
        this.#inDestination(`${path}.headers`),
        await this.#layerRecord(layer.layer.digest),
      );
    }
    const blob = this.#inDestination(`blobs/${desc.digest.replace(':', '/')}`);
    if (!(await stat(blob).catch(() => undefined))) {
      throw new PipelineError('NOT_FOUND', `${this.name} holds no ${desc.digest}`, desc.digest);
    }
    return createReadStream(blob);
  }

  #inDestination(path: string): string {
    return join(this.path, path);
  }

  async #layerRecord(digest: string): Promise<LayerRecord> {
    const path = this.#inDestination(`${this.layerPath(digest)}.json`);
    const bytes = await readFile(path).catch((cause: unknown) => {
      throw new PipelineError(
        'NOT_FOUND',
        `${this.name} holds no complete layer ${digest} (${path})`,
        digest,
        { cause },
      );
    });
    return validate(
      layerRecordSchema,
      parseJson(bytes, 'MANIFEST_INVALID', path),
      'MANIFEST_INVALID',
      path,
    ) as LayerRecord;
  }

  async #imageRecord(reference: string | undefined): Promise<ImageRecord> {
    const names = (await readdir(this.#inDestination('images')).catch(() => []))
      .filter((file) => file.endsWith('.json'))
      .map((file) => decodeURIComponent(file.slice(0, -'.json'.length)));
    const name = reference ?? (names.length === 1 ? names[0] : undefined);
    if (name === undefined || !names.includes(name)) {
      throw new PipelineError(
        'NOT_FOUND',
        names.length === 0
          ? `${this.name}: ${this.path} holds no extracted image`
          : `${this.name}: ${name === undefined ? 'name one of the images' : `no image ${name}`}; it holds ${names.join(', ')} (extracted:DIR:NAME:TAG)`,
        reference ?? this.path,
      );
    }
    const path = this.#inDestination(`images/${encodeURIComponent(name)}.json`);
    return validate(
      imageRecordSchema,
      parseJson(await readFile(path), 'MANIFEST_INVALID', path),
      'MANIFEST_INVALID',
      path,
    );
  }
}

function bare(desc: Descriptor): { mediaType: string; digest: string; size: number } {
  return { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
}
