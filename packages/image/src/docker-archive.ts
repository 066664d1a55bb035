import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline, type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import {
  computeDigest,
  type Descriptor,
  Digester,
  digestHex,
  encodeManifest,
  fetchBytes,
  fetchManifest,
  isDigest,
  layerKindOf,
  MediaType,
  parseImageConfig,
} from '@concil/oci-spec';
import { ArchiveTarget } from './archive-target.js';
import { bytesStream } from './bytes-stream.js';
import {
  type DockerArchiveImage,
  normalizeRepoTag,
  parseDockerArchiveManifest,
  selectDockerArchiveImage,
} from './docker-archive-manifest.js';
import { ImageError } from './errors.js';
import { openLayerTar } from './layer-tar.js';
import type { OciLayout } from './oci-layout.js';
import { compressionOf, type TarArchive } from './tar-archive.js';
import { type PackEntry, writeTarFile } from './tar-pack.js';

const MANIFEST_FILE = 'manifest.json';

/** A blob of the image read from the archive: small bytes, or a layer (a tar checked against its diff_id). */
type ArchivedBlob = { bytes: Uint8Array } | { member: string; check?: { diffId: string; position: number } };

/**
 * Reads the `docker save` format from an indexed tar (a file, or a daemon's answer spooled):
 * `manifest.json` listing each image's config and layer tars, in the older layout
 * (`<id>/layer.tar`, `repositories`) or the newer (`blobs/sha256/<hex>`). The image `name:tag`
 * names is a Docker v2s2 image whose layers are the uncompressed tars, each checked against its
 * config's diff_id as it is read.
 */
export class DockerArchiveReader {
  readonly #blobs = new Map<string, ArchivedBlob>();

  constructor(
    /** How the archive is shown to a person, e.g. `docker-archive:FILE`. */
    readonly name: string,
    readonly archive: () => Promise<TarArchive>,
    /** `name:tag`, as RepoTags list it. */
    readonly reference?: string,
  ) {}

  /** The image `reference` names (or the only one), as a v2s2 manifest made from manifest.json. */
  async resolve(reference = this.reference): Promise<Descriptor> {
    const archive = await this.archive();
    if (!archive.find(MANIFEST_FILE)) {
      throw new ImageError(
        'LAYOUT_INVALID',
        `${this.name} is not a docker save archive: it holds no ${MANIFEST_FILE}`,
        archive.path,
      );
    }
    const images = parseDockerArchiveManifest(
      await archive.readBytes(MANIFEST_FILE),
      `${this.name} ${MANIFEST_FILE}`,
    );
    return this.#describe(archive, selectDockerArchiveImage(images, reference, this.name));
  }

  /** Whether `resolve` found the blob in the archive. */
  async exists(desc: Descriptor): Promise<boolean> {
    return this.#blobs.has(desc.digest);
  }

  async fetch(desc: Descriptor): Promise<Readable> {
    const blob = this.#blobs.get(desc.digest);
    if (!blob) {
      throw new ImageError('NOT_FOUND', `${this.name} does not hold ${desc.digest}`, desc.digest);
    }
    if ('bytes' in blob) return bytesStream(blob.bytes);
    const archive = await this.archive();
    const content = archive.read(blob.member);
    if (!blob.check) return content;
    return pipeline(content, new DiffIdCheck({ member: blob.member, ...blob.check }, this.name), () => {});
  }

  /** Records the image's blobs and returns the descriptor of the v2s2 manifest made for it. */
  async #describe(archive: TarArchive, image: DockerArchiveImage): Promise<Descriptor> {
    if (!archive.find(image.Config)) {
      throw new ImageError(
        'LAYOUT_INVALID',
        `${this.name}: ${MANIFEST_FILE} names the config ${image.Config}, which the archive does not hold`,
        image.Config,
      );
    }
    const configBytes = await archive.readBytes(image.Config);
    const config = parseImageConfig(configBytes, `${this.name} ${image.Config}`);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== image.Layers.length) {
      throw new ImageError(
        'LAYER_INVALID',
        `${this.name}: ${MANIFEST_FILE} lists ${image.Layers.length} layers but the config ${image.Config} has ${diffIds.length} diff_ids; the archive is inconsistent`,
        image.Config,
      );
    }
    const layers: Descriptor[] = [];
    for (const [position, member] of image.Layers.entries()) {
      layers.push(await this.#describeLayer(archive, member, position, diffIds[position]!, image.Config));
    }
    const configDesc = {
      mediaType: MediaType.dockerConfig,
      digest: computeDigest(configBytes),
      size: configBytes.length,
    };
    this.#blobs.set(configDesc.digest, { bytes: configBytes });
    const manifest = encodeManifest(
      { schemaVersion: 2, mediaType: MediaType.dockerManifest, config: configDesc, layers },
      MediaType.dockerManifest,
    );
    this.#blobs.set(manifest.descriptor.digest, { bytes: manifest.bytes });
    return manifest.descriptor;
  }

  /**
   * A layer as the manifest lists it: an uncompressed tar has its diff_id as digest and is checked
   * against it as it is read; a gzip one (docker's containerd image store saves blobs as pulled)
   * is hashed here for its digest, and its diff_id is checked wherever it is decompressed.
   */
  async #describeLayer(
    archive: TarArchive,
    member: string,
    position: number,
    diffId: string,
    config: string,
  ): Promise<Descriptor> {
    const found = archive.find(member);
    if (!found) {
      throw new ImageError(
        'LAYER_INVALID',
        `${this.name}: ${MANIFEST_FILE} names layer ${position + 1}, ${member}, which the archive does not hold; the archive is incomplete`,
        member,
      );
    }
    if (!isDigest(diffId)) {
      throw new ImageError(
        'LAYER_INVALID',
        `${this.name}: the config ${config} gives layer ${position + 1}, ${member}, the diff_id "${diffId}", which is not a digest`,
        member,
      );
    }
    if (compressionOf(await archive.head(member, 4)) === 'gzip') {
      const digester = new Digester('sha256');
      for await (const chunk of archive.read(member)) digester.update(chunk as Buffer);
      const digest = digester.digest();
      this.#blobs.set(digest, { member });
      return { mediaType: MediaType.dockerLayerGzip, digest, size: found.size };
    }
    this.#blobs.set(diffId, { member, check: { diffId, position } });
    return { mediaType: MediaType.dockerLayerTar, digest: diffId, size: found.size };
  }
}

/**
 * The `docker save` format as a target (`docker-archive:FILE[:name:tag]`), read through
 * `DockerArchiveReader`. Written, the archive holds the one copied image, its layers
 * decompressed, named `name:tag`; it replaces the file only when the copy commits.
 */
export class DockerArchive extends ArchiveTarget {
  readonly name: string;
  /** `name:tag`, as RepoTags list it. */
  readonly reference: string | undefined;
  readonly #reader: DockerArchiveReader;

  constructor(path: string, reference?: string) {
    super(path);
    this.reference = reference;
    this.name = `docker-archive:${path}${reference ? `:${reference}` : ''}`;
    this.#reader = new DockerArchiveReader(this.name, () => this.archive(), reference);
  }

  /** The image `reference` names (or the only one), as a v2s2 manifest made from manifest.json. */
  resolve(reference = this.reference): Promise<Descriptor> {
    return this.#reader.resolve(reference);
  }

  fetch(desc: Descriptor): Promise<Readable> {
    return this.#reader.fetch(desc);
  }

  protected async writeArchive(
    staged: OciLayout,
    root: Descriptor,
    reference: string | undefined,
    temporary: string,
  ): Promise<void> {
    const parsed = await fetchManifest(staged, root);
    if (parsed.kind !== 'manifest') {
      throw new ImageError(
        'UNSUPPORTED',
        `${this.name}: a docker archive holds single images, not an index; copy one platform (without --all)`,
        this.path,
      );
    }
    const { manifest } = parsed;
    const configBytes = await fetchBytes(staged, manifest.config);
    const diffIds = parseImageConfig(configBytes, manifest.config.digest).rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) {
      throw new ImageError(
        'DIFF_ID_MISMATCH',
        `${this.name}: the image has ${manifest.layers.length} layers but its config ${diffIds.length} diff_ids`,
        manifest.config.digest,
      );
    }
    const name = reference ?? this.reference;
    await writeTarFile(
      temporary,
      dockerArchiveEntries(staged, manifest.config, configBytes, manifest.layers, diffIds, name, this.name),
    );
  }
}

/** A layer tar read from the archive: fails at its end unless it hashes to its config's diff_id. */
class DiffIdCheck extends Transform {
  readonly #digester = new Digester('sha256');

  constructor(
    readonly layer: { member: string; diffId: string; position: number },
    readonly where: string,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#digester.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const actual = this.#digester.digest();
    const { member, diffId, position } = this.layer;
    if (actual === diffId) {
      callback();
      return;
    }
    callback(
      new ImageError(
        'DIFF_ID_MISMATCH',
        `${this.where}: layer ${position + 1}, ${member}, has digest ${actual}, but the image config says ${diffId}: the archive is damaged or its manifest.json lies; nothing was kept`,
        member,
      ),
    );
  }
}

/**
 * The members of a docker archive holding one image, in `docker save`'s 1.2 layout, which every
 * version of docker and skopeo reads: `<config hex>.json`, each layer as `<id>/layer.tar` with
 * its `VERSION` and `json`, `manifest.json` and, for a named image, `repositories`. Compressed
 * layers are decompressed to a temporary file first (a tar member's size comes before its bytes);
 * every layer's tar is checked against its diff_id on the way.
 */
async function* dockerArchiveEntries(
  staged: OciLayout,
  config: Descriptor,
  configBytes: Uint8Array,
  layers: readonly Descriptor[],
  diffIds: readonly string[],
  name: string | undefined,
  where: string,
): AsyncGenerator<PackEntry> {
  const configFile = `${digestHex(config.digest)}.json`;
  yield { name: configFile, content: configBytes };
  const ids: string[] = [];
  for (const [position, layer] of layers.entries()) {
    const diffId = diffIds[position]!;
    const parent = ids.at(-1);
    const id = digestHex(computeDigest(`${parent ?? ''}\n${diffId}`));
    ids.push(id);
    yield { name: `${id}/`, type: 'directory' };
    yield { name: `${id}/VERSION`, content: new TextEncoder().encode('1.0') };
    yield {
      name: `${id}/json`,
      content: new TextEncoder().encode(JSON.stringify({ id, ...(parent && { parent }) })),
    };
    const source = { descriptor: layer, diffId, open: () => staged.fetch(layer) };
    const kind = layerKindOf(layer.mediaType);
    if (kind?.compression === 'squashfs') {
      throw new ImageError(
        'UNSUPPORTED',
        `${where}: layer ${position + 1} (${layer.digest}) is squashfs; a docker archive holds tar layers: copy with --tar`,
        layer.digest,
      );
    }
    if (kind?.compression === 'none') {
      yield { name: `${id}/layer.tar`, size: layer.size, open: () => openLayerTar(source) };
      continue;
    }
    const spooled = join(staged.path, `layer-${position}.tar`);
    try {
      await pipelineAsync(await openLayerTar(source), createWriteStream(spooled, { highWaterMark: 1 << 20 }));
      const { size } = await stat(spooled);
      yield {
        name: `${id}/layer.tar`,
        size,
        open: async () => createReadStream(spooled, { highWaterMark: 1 << 20 }),
      };
    } finally {
      await rm(spooled, { force: true });
    }
  }
  const repoTag = name === undefined ? undefined : normalizeRepoTag(name);
  const entry = {
    Config: configFile,
    RepoTags: repoTag ? [repoTag] : [],
    Layers: ids.map((id) => `${id}/layer.tar`),
  };
  yield { name: 'manifest.json', content: new TextEncoder().encode(`${JSON.stringify([entry])}\n`) };
  const top = ids.at(-1);
  if (repoTag && top) {
    const colon = repoTag.lastIndexOf(':');
    const repositories = { [repoTag.slice(0, colon)]: { [repoTag.slice(colon + 1)]: top } };
    yield { name: 'repositories', content: new TextEncoder().encode(`${JSON.stringify(repositories)}\n`) };
  }
}
