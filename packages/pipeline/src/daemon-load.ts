import type { Readable } from 'node:stream';
import { addTarEntry } from '@concil/image';
import { type Descriptor, digestHex, layerKindOf, parseImageConfig, parseManifest } from '@concil/oci-spec';
import tarStream from 'tar-stream';
import type { DockerEngine } from './docker-engine.js';
import { PipelineError } from './errors.js';

/** Manifests and configs are held in memory until the end; nothing bigger is one. */
const MAX_METADATA_BYTES = 16 << 20;

/**
 * One `POST /images/load`, fed as the copy pushes: a `docker save` tar made on the fly, each
 * layer written as `<digest>.tar` the moment its push comes (pushes wait their turn: a tar is
 * one member after another), compressed layers as they are (docker and podman load gzip and
 * zstd layer files), so nothing is spooled. Manifests and configs are kept until `finish`, which
 * writes the config and `manifest.json` and waits for the daemon's answer.
 */
export class DaemonLoad {
  readonly #pack = tarStream.pack();
  readonly #loading: Promise<void>;
  #turn: Promise<void> = Promise.resolve();
  readonly #small = new Map<string, Uint8Array>();
  readonly #layers = new Set<string>();

  constructor(
    readonly engine: DockerEngine,
    readonly where: string,
  ) {
    this.#loading = engine.loadImage(this.#pack as unknown as Readable);
    this.#loading.catch(() => {}); // awaited in finish; a failure before then fails the pushes too
  }

  has(desc: Descriptor): boolean {
    return this.#layers.has(desc.digest) || this.#small.has(desc.digest);
  }

  async push(desc: Descriptor, content: Readable): Promise<void> {
    const kind = layerKindOf(desc.mediaType);
    if (!kind) {
      this.#small.set(desc.digest, await readSmall(content, desc, this.where));
      return;
    }
    if (kind.compression === 'squashfs' || kind.encrypted) {
      content.destroy();
      throw new PipelineError(
        'UNSUPPORTED',
        kind.encrypted
          ? `${this.where}: layer ${desc.digest} is encrypted; a daemon loads plain layers: decrypt it on the way (--decryption-key KEY)`
          : `${this.where}: layer ${desc.digest} is squashfs; a daemon loads tar layers: copy with --tar`,
        desc.digest,
      );
    }
    const entry = { name: `${digestHex(desc.digest)}.tar`, size: desc.size, open: async () => content };
    await this.#inTurn(() => Promise.race([addTarEntry(this.#pack, entry), this.#loading]));
    this.#layers.add(desc.digest);
  }

  /**
   * Ends the tar with the image `root` (a manifest pushed before) named `repoTag`; waits for the
   * load, and returns the image's diff_ids.
   */
  async finish(root: Descriptor, repoTag: string): Promise<string[]> {
    const manifestBytes = this.#small.get(root.digest);
    if (!manifestBytes)
      throw new PipelineError('NOT_FOUND', `${this.where}: no manifest was copied`, root.digest);
    const parsed = parseManifest(manifestBytes, root.mediaType, root.digest);
    if (parsed.kind !== 'manifest') {
      throw new PipelineError(
        'UNSUPPORTED',
        `${this.where}: a daemon loads single images, not an index; copy one platform (without --all)`,
        root.digest,
      );
    }
    const { config, layers } = parsed.manifest;
    const configBytes = this.#small.get(config.digest);
    if (!configBytes)
      throw new PipelineError('NOT_FOUND', `${this.where}: no config was copied`, config.digest);
    const diffIds = parseImageConfig(configBytes, config.digest).rootfs.diff_ids;
    const missing = layers.find((layer) => !this.#layers.has(layer.digest));
    if (missing || diffIds.length !== layers.length) {
      throw new PipelineError(
        'UNSUPPORTED',
        missing
          ? `${this.where}: layer ${missing.digest} was not copied (a foreign layer?); a daemon loads every layer`
          : `${this.where}: the image has ${layers.length} layers but its config ${diffIds.length} diff_ids`,
        missing?.digest ?? config.digest,
      );
    }
    const configFile = `${digestHex(config.digest)}.json`;
    const manifestJson = [
      {
        Config: configFile,
        RepoTags: [repoTag],
        Layers: layers.map((layer) => `${digestHex(layer.digest)}.tar`),
      },
    ];
    await this.#inTurn(async () => {
      await addTarEntry(this.#pack, { name: configFile, content: configBytes });
      await addTarEntry(this.#pack, {
        name: 'manifest.json',
        content: new TextEncoder().encode(`${JSON.stringify(manifestJson)}\n`),
      });
      this.#pack.finalize();
    });
    await this.#loading;
    return diffIds;
  }

  /** Breaks the upload off: the daemon sees a broken tar and loads nothing. */
  abort(reason: Error): void {
    this.#pack.destroy(reason);
  }

  /** Runs `write` once the members before it are in: the tar takes one member at a time. */
  #inTurn(write: () => Promise<unknown>): Promise<void> {
    const turn = this.#turn.then(write).then(() => {});
    this.#turn = turn.catch(() => {});
    return turn;
  }
}

async function readSmall(content: Readable, desc: Descriptor, where: string): Promise<Uint8Array> {
  if (desc.size > MAX_METADATA_BYTES) {
    content.destroy();
    throw new PipelineError(
      'UNSUPPORTED',
      `${where}: ${desc.digest} (${desc.mediaType}) has ${desc.size} bytes, too many for a manifest or config`,
      desc.digest,
    );
  }
  const chunks: Buffer[] = [];
  for await (const chunk of content) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
