import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import type { Readable } from 'node:stream';
import { type Descriptor, type ImageIndex, MediaType, parseDigest, type Target } from '@concil/oci-spec';
import {
  temporaryPath,
  writeContentAddressedFile,
  writeFileAtomic,
  writeVerifiedFile,
} from './atomic-file.js';
import { ImageError } from './errors.js';
import { findInLayoutIndex, parseLayoutIndex, REF_NAME_ANNOTATION } from './layout-index.js';
import { hasFileOfSize, openBlobFile } from './read-stream.js';

const LAYOUT_FILE = 'oci-layout';
const INDEX_FILE = 'index.json';

/**
 * An OCI image layout (`oci:PATH[:tag]`). Blobs are content-addressed and each is renamed into
 * place complete; `index.json` is rewritten last, so a failed copy leaves only unreferenced blobs.
 */
export class OciLayout implements Target {
  readonly name: string;
  readonly path: string;
  readonly reference: string | undefined;

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

  async exists(desc: Descriptor): Promise<boolean> {
    return hasFileOfSize(this.#blobPath(desc.digest), desc.size);
  }

  async push(desc: Descriptor, content: Readable): Promise<void> {
    const path = this.#blobPath(desc.digest);
    await mkdir(join(path, '..'), { recursive: true });
    await writeVerifiedFile(path, desc, content);
  }

  async ingest(mediaType: string, content: Readable): Promise<Descriptor> {
    const directory = join(this.path, 'blobs', 'sha256');
    await mkdir(directory, { recursive: true });
    const temporary = temporaryPath(join(directory, 'ingest'));
    const { digest, size } = await writeContentAddressedFile(temporary, content, (d) => this.#blobPath(d));
    return { mediaType, digest, size };
  }

  async tag(desc: Descriptor, reference = this.reference): Promise<void> {
    await mkdir(this.path, { recursive: true });
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
    await writeFileAtomic(join(this.path, LAYOUT_FILE), encode({ imageLayoutVersion: '1.0.0' }));
    await writeFileAtomic(join(this.path, INDEX_FILE), encode({ ...index, manifests }));
  }

  #blobPath(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.path, 'blobs', algorithm, hex);
  }

  async #readIndex(): Promise<ImageIndex> {
    const file = join(this.path, INDEX_FILE);
    const bytes = await readFile(file).catch((cause: NodeJS.ErrnoException) => {
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
