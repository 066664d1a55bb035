import { existsSync } from 'node:fs';
import { readdir, readFile, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join, resolve as resolvePath } from 'node:path';
import type { Readable } from 'node:stream';
import {
  type Descriptor,
  type FetchOptions,
  type ImageIndex,
  MediaType,
  parseDigest,
  type SmallContentReader,
  type Target,
} from '@concil/oci-spec';
import {
  moveContentAddressedFile,
  removeTemporaryLeftovers,
  temporaryPath,
  writeContentAddressedFile,
  writeFileAtomic,
  writeVerifiedFile,
} from './atomic-file.js';
import { fileSystemError, ImageError } from './errors.js';
import { findInLayoutIndex, parseLayoutIndex, REF_NAME_ANNOTATION } from './layout-index.js';
import { makeDirectory } from './make-directory.js';
import { hasFileOfSize, openBlobFile, readBlobFile } from './read-stream.js';

const LAYOUT_FILE = 'oci-layout';
const INDEX_FILE = 'index.json';

/**
 * An OCI image layout (`oci:PATH[:tag]`). Blobs are content-addressed and each is renamed into
 * place complete; `index.json` is rewritten last. A failed copy takes back what it added (the
 * blobs that were not there, the directories it made), so the layout stays as it was.
 */
export class OciLayout implements Target, SmallContentReader {
  readonly name: string;
  readonly path: string;
  readonly reference: string | undefined;
  /** skopeo and umoci read only OCI manifests from a layout: a copy converts Docker ones. */
  readonly requiresOciManifests = true;
  /** Files this copy wrote where there were none, and directories it made: what abort() removes. */
  readonly #added = new Set<string>();
  readonly #madeDirectories = new Set<string>();
  #swept: Promise<void> | undefined;

  constructor(path: string, reference?: string) {
    this.path = resolvePath(path);
    this.reference = reference;
    this.name = `oci:${path}${reference ? `:${reference}` : ''}`;
  }

  async resolve(reference = this.reference): Promise<Descriptor> {
    return findInLayoutIndex(await this.#readIndex(), reference, this.name, this.path);
  }

  async fetch(desc: Descriptor): Promise<Readable> {
    return openBlobFile(this.#blobPath(desc.digest), desc, this.name);
  }

  async readSmall(desc: Descriptor): Promise<Uint8Array> {
    return readBlobFile(this.#blobPath(desc.digest), desc, this.name);
  }

  async exists(desc: Descriptor): Promise<boolean> {
    return hasFileOfSize(this.#blobPath(desc.digest), desc.size);
  }

  async push(desc: Descriptor, content: Readable, options: FetchOptions = {}): Promise<void> {
    const path = this.#blobPath(desc.digest);
    try {
      await this.#makeDirectory(dirname(path));
      await this.#writeNew(path, () => writeVerifiedFile(path, desc, content, options));
    } catch (error) {
      throw fileSystemError(error, 'cannot write', this.name);
    }
  }

  async ingest(mediaType: string, content: Readable, options: FetchOptions = {}): Promise<Descriptor> {
    return this.#ingest(mediaType, content, options).catch((error: unknown) => {
      throw fileSystemError(error, 'cannot write', this.name);
    });
  }

  async #ingest(mediaType: string, content: Readable, options: FetchOptions): Promise<Descriptor> {
    const { digest, size } = await writeContentAddressedFile(
      await this.#ingestPath(),
      content,
      (d) => this.#ingestedBlobPath(d),
      options,
    );
    return { mediaType, digest, size };
  }

  /** Beside the blobs, so the file is renamed into place; swept as a leftover if its writer dies. */
  async ingestPath(): Promise<string> {
    return this.#ingestPath().catch((error: unknown) => {
      throw fileSystemError(error, 'cannot write', this.name);
    });
  }

  async ingestFile(mediaType: string, path: string): Promise<Descriptor> {
    try {
      await this.#makeDirectory(join(this.path, 'blobs', 'sha256'));
      const { digest, size } = await moveContentAddressedFile(path, (d) => this.#ingestedBlobPath(d));
      return { mediaType, digest, size };
    } catch (error) {
      throw fileSystemError(error, 'cannot write', this.name);
    }
  }

  async #ingestPath(): Promise<string> {
    const directory = join(this.path, 'blobs', 'sha256');
    await this.#makeDirectory(directory);
    return temporaryPath(join(directory, 'ingest'));
  }

  /** Known only once ingested: remembered as added when the layout did not have it. */
  #ingestedBlobPath(digest: string): string {
    const path = this.#blobPath(digest);
    if (!existsSync(path)) this.#added.add(path);
    return path;
  }

  async tag(desc: Descriptor, reference = this.reference): Promise<void> {
    await this.#tag(desc, reference).catch((error: unknown) => {
      throw fileSystemError(error, 'cannot write', this.name);
    });
  }

  async #tag(desc: Descriptor, reference: string | undefined): Promise<void> {
    await this.#makeDirectory(this.path);
    const index = await this.#readIndex().catch((error: ImageError) => {
      if (error.code === 'NOT_FOUND') return emptyIndex();
      throw error;
    });
    const { annotations: _drop, ...bare } = desc;
    const entry: Descriptor = reference
      ? { ...bare, annotations: { [REF_NAME_ANNOTATION]: reference } }
      : bare;
    // One entry per name: a new image under a tag replaces the old one; an untagged one its duplicate.
    const manifests = index.manifests.filter((m) =>
      reference ? m.annotations?.[REF_NAME_ANNOTATION] !== reference : m.digest !== desc.digest,
    );
    manifests.push(entry);
    const encode = (value: unknown) => new TextEncoder().encode(`${JSON.stringify(value)}\n`);
    const layoutFile = join(this.path, LAYOUT_FILE);
    await this.#writeNew(layoutFile, () =>
      writeFileAtomic(layoutFile, encode({ imageLayoutVersion: '1.0.0' })),
    );
    await writeFileAtomic(join(this.path, INDEX_FILE), encode({ ...index, manifests }));
  }

  /** The copy succeeded: what it added stays. */
  async commit(): Promise<void> {
    this.#added.clear();
    this.#madeDirectories.clear();
  }

  /** The copy failed: removes what it added; the layout's existing content stays. */
  async abort(): Promise<void> {
    for (const path of this.#added) await rm(path, { force: true });
    // Deepest first; a directory that something else has put files in stays.
    const made = [...this.#madeDirectories].sort((a, b) => b.length - a.length);
    for (const dir of made) await rmdir(dir).catch(() => undefined);
    await this.commit();
  }

  /**
   * Makes a directory, remembering the ones it made; the first time, it sweeps the temporary
   * files that killed copies into this layout left.
   */
  async #makeDirectory(dir: string): Promise<void> {
    this.#swept ??= this.#removeLeftovers();
    await this.#swept;
    const first = await makeDirectory(dir);
    if (!first) return;
    for (let made = dir; made.startsWith(first); made = dirname(made)) this.#madeDirectories.add(made);
  }

  async #removeLeftovers(): Promise<void> {
    const blobs = join(this.path, 'blobs');
    const algorithms = await readdir(blobs).catch(() => [] as string[]);
    for (const dir of [this.path, ...algorithms.map((algorithm) => join(blobs, algorithm))]) {
      await removeTemporaryLeftovers(dir);
    }
  }

  /** Writes a file, remembered as added when there was none of its name before. */
  async #writeNew(path: string, write: () => Promise<void>): Promise<void> {
    const existed = await stat(path).then(
      () => true,
      () => false,
    );
    await write();
    if (!existed) this.#added.add(path);
  }

  #blobPath(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.path, 'blobs', algorithm, hex);
  }

  async #readIndex(): Promise<ImageIndex> {
    const file = join(this.path, INDEX_FILE);
    const bytes = await readFile(file).catch((cause: NodeJS.ErrnoException) => {
      if (cause.code !== 'ENOENT') throw fileSystemError(cause, 'cannot read', this.name);
      throw new ImageError(
        'NOT_FOUND',
        `${this.name} is not an OCI image layout: ${file} is missing`,
        this.path,
        {
          cause,
        },
      );
    });
    return parseLayoutIndex(bytes, file);
  }
}

function emptyIndex(): ImageIndex {
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
}
