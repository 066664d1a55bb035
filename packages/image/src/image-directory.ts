import { copyFile, link, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import type { Readable } from 'node:stream';
import {
  computeDigest,
  type Descriptor,
  type FetchOptions,
  isManifestOrIndexMediaType,
  parseDigest,
  parseManifest,
  parseReference,
  type SmallContentReader,
  type Target,
} from '@concil/oci-spec';
import {
  moveContentAddressedFile,
  temporaryPath,
  writeContentAddressedFile,
  writeFileAtomic,
  writeVerifiedFile,
} from './atomic-file.js';
import { fileSystemError, ImageError } from './errors.js';
import { OWNED_SUFFIX, ownedSuffix, removeLeftovers } from './leftovers.js';
import { makeDirectory } from './make-directory.js';
import { hasFileOfSize, openBlobFile, readBlobFile } from './read-stream.js';

const VERSION_FILE = 'version';
const VERSION_TEXT = 'Directory Transport Version: 1.1\n';
const ROOT_MANIFEST = 'manifest.json';

/** The file name of a blob in an image directory: the hex digest, as skopeo's `dir:` writes it. */
function blobName(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return algorithm === 'sha256' ? hex : `${algorithm}-${hex}`;
}

/** Instance manifests of an index sit beside the root manifest as `<hex>.manifest.json`. */
function instanceManifestName(digest: string): string {
  return `${blobName(digest)}.manifest.json`;
}

function fileNameFor(desc: Pick<Descriptor, 'mediaType' | 'digest'>): string {
  return isManifestOrIndexMediaType(desc.mediaType)
    ? instanceManifestName(desc.digest)
    : blobName(desc.digest);
}

/**
 * What to say of an image directory that is not there. A bare word is a path, as in the Python
 * concil, but `concil copy alpine ./out` more likely meant the registry: say how to write that.
 */
function missingDirectory(path: string): string {
  const hint =
    !/^[/.~]/.test(path) && looksLikeImageName(path)
      ? `; for the image ${path} in a registry, write docker://${path}`
      : '';
  return `dir:${path}: no such directory${hint}`;
}

function looksLikeImageName(text: string): boolean {
  try {
    parseReference(`docker://${text}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * An image directory: the layout of concil and of skopeo's `dir:` transport. Writes go to a
 * staging directory beside it that replaces the destination only when the copy commits, so a
 * failed copy leaves the destination as it was.
 */
export class ImageDirectory implements Target, SmallContentReader {
  readonly name: string;
  readonly path: string;
  #staging: string | undefined;
  #stagingReady: Promise<string> | undefined;
  #swept: Promise<void> | undefined;
  #root: Descriptor | undefined;
  /** Blobs the existing directory already had, carried over into the new one on commit. */
  readonly #kept = new Map<string, string>();

  constructor(path: string) {
    this.path = resolvePath(path);
    this.name = `dir:${path}`;
  }

  async resolve(): Promise<Descriptor> {
    const bytes = await readFile(join(this.path, ROOT_MANIFEST)).catch(
      async (cause: NodeJS.ErrnoException) => {
        if (cause.code !== 'ENOENT') throw fileSystemError(cause, 'cannot read', this.name);
        throw new ImageError(
          'NOT_FOUND',
          (await stat(this.path).catch(() => undefined))
            ? `${this.name} is not an image directory: it has no ${ROOT_MANIFEST}`
            : missingDirectory(this.name.slice('dir:'.length)),
          this.path,
          { cause },
        );
      },
    );
    const parsed = parseManifest(bytes, undefined, join(this.path, ROOT_MANIFEST));
    return { mediaType: parsed.mediaType, digest: computeDigest(bytes), size: bytes.byteLength };
  }

  async fetch(desc: Descriptor): Promise<Readable> {
    const file = (await this.#rootBytes(desc)) ? ROOT_MANIFEST : fileNameFor(desc);
    return openBlobFile(join(this.path, file), desc, this.name);
  }

  async readSmall(desc: Descriptor): Promise<Uint8Array> {
    return (await this.#rootBytes(desc)) ?? readBlobFile(join(this.path, fileNameFor(desc)), desc, this.name);
  }

  /** The root manifest's bytes when `desc` names it: the directory holds it under its own name. */
  async #rootBytes(desc: Descriptor): Promise<Uint8Array | undefined> {
    const bytes = await readFile(join(this.path, ROOT_MANIFEST)).catch(() => undefined);
    return bytes?.byteLength === desc.size && computeDigest(bytes) === desc.digest ? bytes : undefined;
  }

  async exists(desc: Descriptor): Promise<boolean> {
    await this.#removeLeftovers();
    const name = fileNameFor(desc);
    if (this.#staging && (await hasFileOfSize(join(this.#staging, name), desc.size))) return true;
    if (await hasFileOfSize(join(this.path, name), desc.size)) {
      this.#kept.set(name, join(this.path, name));
      return true;
    }
    return false;
  }

  async push(desc: Descriptor, content: Readable, options: FetchOptions = {}): Promise<void> {
    try {
      const staging = await this.#stagingDirectory();
      await writeVerifiedFile(join(staging, fileNameFor(desc)), desc, content, options);
    } catch (error) {
      throw fileSystemError(error, 'cannot write', this.name);
    }
  }

  async ingest(mediaType: string, content: Readable, options: FetchOptions = {}): Promise<Descriptor> {
    try {
      const staging = await this.#stagingDirectory();
      const temporary = temporaryPath(join(staging, 'ingest'));
      const { digest, size } = await writeContentAddressedFile(
        temporary,
        content,
        (d) => join(staging, fileNameFor({ mediaType, digest: d })),
        options,
      );
      return { mediaType, digest, size };
    } catch (error) {
      throw fileSystemError(error, 'cannot write', this.name);
    }
  }

  /** In the staging directory: a file made there is renamed into place, and goes with it on abort. */
  async ingestPath(): Promise<string> {
    try {
      return temporaryPath(join(await this.#stagingDirectory(), 'ingest'));
    } catch (error) {
      throw fileSystemError(error, 'cannot write', this.name);
    }
  }

  async ingestFile(mediaType: string, path: string): Promise<Descriptor> {
    try {
      const staging = await this.#stagingDirectory();
      const { digest, size } = await moveContentAddressedFile(path, (d) =>
        join(staging, fileNameFor({ mediaType, digest: d })),
      );
      return { mediaType, digest, size };
    } catch (error) {
      throw fileSystemError(error, 'cannot write', this.name);
    }
  }

  async tag(desc: Descriptor): Promise<void> {
    this.#root = desc;
  }

  async commit(): Promise<void> {
    await this.#commit().catch((error: unknown) => {
      throw fileSystemError(error, 'cannot write', this.name);
    });
  }

  async #commit(): Promise<void> {
    const staging = await this.#stagingDirectory();
    for (const [name, from] of this.#kept) await linkOrCopy(from, join(staging, name));
    const root = this.#root;
    if (root) {
      const staged = join(staging, instanceManifestName(root.digest));
      if (!(await hasFileOfSize(staged, root.size)))
        await copyFile(await this.#existingManifest(root), staged);
      await rename(staged, join(staging, ROOT_MANIFEST));
    }
    await writeFileAtomic(join(staging, VERSION_FILE), new TextEncoder().encode(VERSION_TEXT));
    await replaceDirectory(staging, this.path);
    this.#staging = undefined;
    this.#stagingReady = undefined;
    this.#kept.clear();
  }

  async abort(): Promise<void> {
    const staging = await this.#stagingReady?.catch(() => undefined);
    if (staging) await rm(staging, { recursive: true, force: true });
    this.#staging = undefined;
    this.#stagingReady = undefined;
  }

  /** Once, before a copy looks at the destination: what killed copies to it left. */
  #removeLeftovers(): Promise<void> {
    this.#swept ??= removeStagingLeftovers(this.path);
    return this.#swept;
  }

  /** Where the existing directory keeps a manifest: as its root or as an instance. */
  async #existingManifest(desc: Descriptor): Promise<string> {
    const current = await this.resolve().catch(() => undefined);
    return join(
      this.path,
      current?.digest === desc.digest ? ROOT_MANIFEST : instanceManifestName(desc.digest),
    );
  }

  /**
   * Created once, on the first write (blobs are pushed in parallel, so the promise is shared),
   * after sweeping what killed copies to the same place left.
   */
  #stagingDirectory(): Promise<string> {
    this.#stagingReady ??= (async () => {
      await assertWritableImageDirectory(this.path, this.name);
      await this.#removeLeftovers();
      const staging = join(dirname(this.path), `${stagingPrefix(this.path)}${ownedSuffix()}`);
      await makeDirectory(staging);
      this.#staging = staging;
      return staging;
    })();
    return this.#stagingReady;
  }
}

/** Refuses to replace a directory that is not an image directory (it may be a person's files). */
async function assertWritableImageDirectory(path: string, name: string): Promise<void> {
  const entries: string[] = await readdir(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  if (entries.length > 0 && !entries.includes(VERSION_FILE) && !entries.includes(ROOT_MANIFEST)) {
    throw new ImageError(
      'TARGET_INVALID',
      `${name} exists and is not an image directory; choose an empty or new directory`,
      path,
    );
  }
}

/** Staging directories sit beside the destination: `.<name>.concil-<pid>-<random>[.old]`. */
function stagingPrefix(destination: string): string {
  return `.${basename(destination)}.concil-`;
}

const STAGING = new RegExp(String.raw`^\..+\.concil-${OWNED_SUFFIX}(?<old>\.old)?$`);

/**
 * Removes the staging directories of copies to `destination` whose process is gone. A killed
 * commit may have moved the old directory aside (`.old`) without putting the new one in place:
 * then the old one goes back.
 */
async function removeStagingLeftovers(destination: string): Promise<void> {
  await removeLeftovers(dirname(destination), STAGING, async (path, match) => {
    if (!basename(path).startsWith(stagingPrefix(destination))) return;
    if (match.groups?.old && !(await stat(destination).catch(() => undefined))) {
      await rename(path, destination);
      return;
    }
    await rm(path, { recursive: true, force: true });
  });
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  await link(from, to).catch(() => copyFile(from, to));
}

/** Puts the staged directory in place of the destination; the old one is removed afterwards. */
async function replaceDirectory(staging: string, destination: string): Promise<void> {
  const existing = await stat(destination).catch(() => undefined);
  if (!existing) {
    await rename(staging, destination);
    return;
  }
  const trash = `${staging}.old`;
  await rename(destination, trash);
  await rename(staging, destination);
  await rm(trash, { recursive: true, force: true });
}
