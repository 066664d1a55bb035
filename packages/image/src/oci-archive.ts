import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { type Descriptor, parseDigest } from '@concil/oci-spec';
import { ArchiveTarget } from './archive-target.js';
import { ImageError } from './errors.js';
import { findInLayoutIndex, parseLayoutIndex } from './layout-index.js';
import type { OciLayout } from './oci-layout.js';
import { type PackEntry, writeTarFile } from './tar-pack.js';

/**
 * An OCI image layout in a tar file (`oci-archive:FILE[:tag]`), as skopeo writes it. Blobs are
 * read from the file by offset; a copy into it writes a new archive holding the copied image
 * (under `tag`), which replaces the file only when the copy commits.
 */
export class OciArchive extends ArchiveTarget {
  readonly name: string;
  readonly reference: string | undefined;
  /** An OCI layout in a tar: skopeo reads only OCI manifests from it, a copy converts Docker ones. */
  readonly requiresOciManifests = true;

  constructor(path: string, reference?: string) {
    super(path);
    this.reference = reference;
    this.name = `oci-archive:${path}${reference ? `:${reference}` : ''}`;
  }

  async resolve(reference = this.reference): Promise<Descriptor> {
    const archive = await this.archive();
    if (!archive.find('index.json')) {
      throw new ImageError(
        'LAYOUT_INVALID',
        `${this.name} is not an OCI archive: ${this.path} holds no index.json`,
        this.path,
      );
    }
    const index = parseLayoutIndex(await archive.readBytes('index.json'), `${this.name} index.json`);
    return findInLayoutIndex(index, reference, this.name, this.path);
  }

  async fetch(desc: Descriptor): Promise<Readable> {
    const archive = await this.archive();
    const { algorithm, hex } = parseDigest(desc.digest);
    const member = `blobs/${algorithm}/${hex}`;
    const found = archive.find(member);
    if (!found) {
      throw new ImageError(
        'NOT_FOUND',
        `${this.name} does not hold ${desc.digest} (no ${member})`,
        desc.digest,
      );
    }
    if (found.size !== desc.size) {
      throw new ImageError(
        'SIZE_INVALID',
        `${this.name}: ${member} has ${found.size} bytes but ${desc.digest} has ${desc.size}: the archive is damaged`,
        desc.digest,
      );
    }
    return archive.read(member);
  }

  protected async writeArchive(
    staged: OciLayout,
    root: Descriptor,
    reference: string | undefined,
    temporary: string,
  ): Promise<void> {
    await staged.tag(root, reference ?? this.reference);
    await writeTarFile(temporary, layoutEntries(staged.path));
  }
}

/** The files of an OCI layout as archive members: `oci-layout`, `index.json`, then the blobs. */
async function* layoutEntries(layout: string): AsyncGenerator<PackEntry> {
  for (const name of ['oci-layout', 'index.json'])
    yield { name, content: await readFile(join(layout, name)) };
  yield { name: 'blobs/', type: 'directory' };
  for (const algorithm of (await readdir(join(layout, 'blobs'))).sort()) {
    yield { name: `blobs/${algorithm}/`, type: 'directory' };
    for (const hex of (await readdir(join(layout, 'blobs', algorithm))).sort()) {
      if (hex.startsWith('.')) continue;
      const path = join(layout, 'blobs', algorithm, hex);
      const { size } = await stat(path);
      yield { name: `blobs/${algorithm}/${hex}`, size, open: async () => createReadStream(path) };
    }
  }
}
