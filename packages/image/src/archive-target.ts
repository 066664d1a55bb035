import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import type { Readable } from 'node:stream';
import type { Descriptor, FetchOptions, Target } from '@concil/oci-spec';
import { temporaryPath } from './atomic-file.js';
import { ImageError } from './errors.js';
import { OciLayout } from './oci-layout.js';
import { TarArchive } from './tar-archive.js';

/**
 * A tar archive holding images (`oci-archive:`, `docker-archive:`). Reading indexes the file
 * once and serves each member from it by offset. Writing stages an OCI layout in a directory
 * beside the file; on commit the subclass writes the archive from it to a temporary file that
 * is renamed over the file, so a failed copy leaves the file as it was.
 */
export abstract class ArchiveTarget implements Target {
  abstract readonly name: string;
  readonly path: string;
  #archive: Promise<TarArchive> | undefined;
  #staging: Promise<OciLayout> | undefined;
  #root: { desc: Descriptor; reference: string | undefined } | undefined;

  constructor(path: string) {
    this.path = resolvePath(path);
  }

  abstract resolve(reference?: string): Promise<Descriptor>;
  abstract fetch(desc: Descriptor, options?: FetchOptions): Promise<Readable>;
  /** Writes the archive for the staged image `root` to `temporary` (renamed over the file after). */
  protected abstract writeArchive(
    staged: OciLayout,
    root: Descriptor,
    reference: string | undefined,
    temporary: string,
  ): Promise<void>;

  /** The archive being read, indexed on first use. */
  protected archive(): Promise<TarArchive> {
    this.#archive ??= TarArchive.open(this.path, this.name);
    return this.#archive;
  }

  /** A destination archive is written anew: only what this copy staged exists. */
  async exists(desc: Descriptor): Promise<boolean> {
    const staging = await this.#staging?.catch(() => undefined);
    return staging ? staging.exists(desc) : false;
  }

  async push(desc: Descriptor, content: Readable): Promise<void> {
    await (await this.#staged()).push(desc, content);
  }

  async ingest(mediaType: string, content: Readable): Promise<Descriptor> {
    return (await this.#staged()).ingest(mediaType, content);
  }

  async ingestPath(): Promise<string> {
    return (await this.#staged()).ingestPath();
  }

  async ingestFile(mediaType: string, path: string): Promise<Descriptor> {
    return (await this.#staged()).ingestFile(mediaType, path);
  }

  async tag(desc: Descriptor, reference?: string): Promise<void> {
    this.#root = { desc, reference };
  }

  async commit(): Promise<void> {
    const root = this.#root;
    if (!root) throw new ImageError('NOT_FOUND', `${this.name}: nothing was tagged to write`, this.path);
    const staged = await this.#staged();
    await (staged as Target).commit?.();
    const temporary = temporaryPath(this.path);
    try {
      await this.writeArchive(staged, root.desc, root.reference, temporary);
    } catch (error) {
      await rm(temporary, { force: true });
      throw writeFailure(error, this.name, this.path);
    }
    await this.#dropStaging();
    await rename(temporary, this.path);
    this.#archive = undefined;
    this.#root = undefined;
  }

  async abort(): Promise<void> {
    const staged = await this.#staging?.catch(() => undefined);
    await (staged as Target | undefined)?.abort?.();
    await this.#dropStaging();
    this.#root = undefined;
  }

  async #dropStaging(): Promise<void> {
    const staged = await this.#staging?.catch(() => undefined);
    this.#staging = undefined;
    if (staged) await rm(staged.path, { recursive: true, force: true });
  }

  /** The staging layout, made on the first write beside the archive (so the rename stays on one disk). */
  #staged(): Promise<OciLayout> {
    this.#staging ??= (async () => {
      const info = await stat(this.path).catch(() => undefined);
      if (info && !info.isFile()) {
        throw new ImageError(
          'TARGET_INVALID',
          `${this.name}: ${this.path} exists and is not a file`,
          this.path,
        );
      }
      const directory = dirname(this.path);
      if (!(await stat(directory).catch(() => undefined))?.isDirectory()) {
        throw new ImageError(
          'TARGET_INVALID',
          `${this.name}: the directory ${directory} does not exist; create it first`,
          this.path,
        );
      }
      const staging = join(directory, `.${basename(this.path)}.concil-${randomBytes(6).toString('hex')}`);
      await mkdir(staging);
      return new OciLayout(staging);
    })();
    return this.#staging;
  }
}

/** A file system error while writing the archive, said with the file; others (bad input) as they are. */
function writeFailure(error: unknown, name: string, path: string): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (error instanceof ImageError || typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return error;
  return new ImageError(
    'WRITE_FAILED',
    `${name}: cannot write ${path}: ${(error as Error).message}; it was left as it was`,
    path,
    { cause: error },
  );
}
