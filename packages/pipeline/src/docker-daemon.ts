import type { Readable } from 'node:stream';
import { DockerArchiveReader, TarArchive } from '@concil/image';
import { type Descriptor, formatReference, parseReference, type Target } from '@concil/oci-spec';
import { DaemonLoad } from './daemon-load.js';
import { DEFAULT_DOCKER_SOCKET, DockerEngine } from './docker-engine.js';
import { PipelineError } from './errors.js';

export interface DockerDaemonOptions {
  /** The daemon's Unix socket: `/var/run/docker.sock` by default, Podman's `/run/podman/podman.sock`. */
  socket?: string;
  /** Where the daemon's answer is spooled while read (the OS's temporary directory by default). */
  spoolDirectory?: string;
}

/**
 * An image in a Docker or Podman daemon, reached through the Engine API on its Unix socket
 * (`docker-daemon:NAME[:TAG]`, `docker-daemon:NAME@DIGEST` or `docker-daemon:sha256:ID`).
 *
 * Read, the image is `docker save`'s tar stream from `GET /images/{name}/get`, read once as it
 * arrives. The copy must resolve the image — a manifest naming every layer's digest and size —
 * before it asks for any blob, and daemons send manifest.json and the config after the layers
 * (Podman: the layer tars, the config, manifest.json; Docker: `blobs/sha256/…` in digest order,
 * then index.json and manifest.json). So every layer has arrived before it can be asked for:
 * the stream is spooled while it is indexed — to one unlinked file, never into memory
 * (`TarArchive.spool`) — and the image is read from there as a docker-archive: file is.
 *
 * Written, the image streams as a `docker save` tar straight into `POST /images/load` (see
 * `DaemonLoad`); the tag is checked afterwards. A failed copy breaks the upload off, and the
 * daemon loads nothing.
 */
export class DockerDaemon implements Target {
  readonly name: string;
  readonly engine: DockerEngine;
  readonly #spoolDirectory: string | undefined;
  #archive: Promise<TarArchive> | undefined;
  readonly #reader: DockerArchiveReader;
  #load: DaemonLoad | undefined;
  #root: { desc: Descriptor; reference: string | undefined } | undefined;

  constructor(
    /** The image as the daemon names it: `NAME[:TAG]`, `NAME@DIGEST` or an ID `sha256:…`. */
    readonly image: string,
    options: DockerDaemonOptions = {},
  ) {
    this.engine = new DockerEngine(options.socket ?? DEFAULT_DOCKER_SOCKET);
    this.#spoolDirectory = options.spoolDirectory;
    this.name = `docker-daemon:${image}`;
    // The daemon's answer holds the one image asked for: it is read whatever its RepoTags say.
    this.#reader = new DockerArchiveReader(this.#where(), () => this.#saved());
  }

  resolve(): Promise<Descriptor> {
    return this.#reader.resolve();
  }

  fetch(desc: Descriptor): Promise<Readable> {
    return this.#reader.fetch(desc);
  }

  /** Frees the spooled answer (it is freed when the process ends too). */
  async close(): Promise<void> {
    const archive = await this.#archive?.catch(() => undefined);
    this.#archive = undefined;
    await archive?.close();
  }

  /** The image and the daemon, as errors about what the daemon sent name them. */
  #where(): string {
    return `${this.name} (the daemon on ${this.engine.socketPath})`;
  }

  #saved(): Promise<TarArchive> {
    this.#archive ??= (async () => {
      const answer = await this.engine.saveImage(this.image);
      const where = this.#where();
      try {
        return await TarArchive.spool(answer, where, this.#spoolDirectory);
      } catch (error) {
        if (answer.errored) {
          throw new PipelineError(
            'DAEMON_FAILED',
            `${where}: the daemon's answer broke off (${answer.errored.message}); try again`,
            this.image,
            { cause: error },
          );
        }
        throw error;
      }
    })();
    return this.#archive;
  }

  /** Written anew: the daemon holds only what this copy loads (it skips no layer it may have). */
  async exists(desc: Descriptor): Promise<boolean> {
    return this.#load?.has(desc) ?? false;
  }

  async push(desc: Descriptor, content: Readable): Promise<void> {
    if (!this.#load) {
      sinkTag(this.image, this.name); // refused before anything is sent
      this.#load = new DaemonLoad(this.engine, this.name);
    }
    await this.#load.push(desc, content);
  }

  async tag(desc: Descriptor, reference?: string): Promise<void> {
    this.#root = { desc, reference };
  }

  async commit(): Promise<void> {
    const root = this.#root;
    const load = this.#load;
    if (!root || !load) {
      throw new PipelineError('NOT_FOUND', `${this.name}: nothing was copied to load`, this.image);
    }
    const repoTag = sinkTag(root.reference ?? this.image, this.name);
    const diffIds = await load.finish(root.desc, repoTag);
    // The tag may have named another image before: it must now name this one.
    const loaded = await this.engine.inspectImage(repoTag);
    const layers = loaded?.RootFS?.Layers ?? [];
    if (layers.length !== diffIds.length || layers.some((layer, i) => layer !== diffIds[i])) {
      throw new PipelineError(
        'DAEMON_FAILED',
        loaded
          ? `${this.name}: the daemon on ${this.engine.socketPath} said it loaded the image, but its ${repoTag} has other layers (${layers.join(', ')})`
          : `${this.name}: the daemon on ${this.engine.socketPath} said it loaded the image, but has no ${repoTag}`,
        repoTag,
      );
    }
    this.#load = undefined;
    this.#root = undefined;
  }

  async abort(): Promise<void> {
    this.#load?.abort(new Error(`${this.name}: the copy failed; nothing was loaded`));
    this.#load = undefined;
    this.#root = undefined;
  }
}

/**
 * The name a loaded image is given, fully qualified as skopeo writes it (`docker.io/NAME:TAG`,
 * `latest` without a tag): Docker and Podman then file it under the same name, where Podman would
 * put a short name under `localhost/`. An ID or a digest names no image to load.
 */
function sinkTag(image: string, where: string): string {
  const reference = /^(sha256:)?[0-9a-f]{64}$/.test(image) ? undefined : parseReference(image);
  if (!reference || reference.digest) {
    throw new PipelineError(
      'TARGET_INVALID',
      `${where}: an image is loaded into a daemon under a name: write docker-daemon:NAME:TAG, not an ID or digest`,
      image,
    );
  }
  return formatReference(reference);
}
