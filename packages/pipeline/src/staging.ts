import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { PipelineError } from './errors.js';

/**
 * A directory where a sink builds what it writes, on the destination's file system so that its
 * parts are renamed into place at commit: inside the destination when it exists (hidden, ignored
 * by readers), else beside it. Nothing appears under the destination's name until `moveInto`.
 */
export class Staging {
  readonly destination: string;
  #path: Promise<string> | undefined;

  constructor(
    destination: string,
    readonly name: string,
  ) {
    this.destination = resolve(destination);
  }

  /** The staging directory, made on first use. */
  path(): Promise<string> {
    this.#path ??= (async () => {
      const info = await stat(this.destination).catch(() => undefined);
      if (info && !info.isDirectory()) {
        throw new PipelineError(
          'TARGET_INVALID',
          `${this.name}: ${this.destination} exists and is not a directory; name a directory or a new path`,
          this.destination,
        );
      }
      const parent = info ? this.destination : dirname(this.destination);
      if (!(await stat(parent).catch(() => undefined))?.isDirectory()) {
        throw new PipelineError(
          'TARGET_INVALID',
          `${this.name}: the directory ${parent} does not exist; create it first`,
          this.destination,
        );
      }
      const hidden = info ? '.concil-staging-' : `.${basename(this.destination)}.concil-staging-`;
      const path = join(parent, `${hidden}${randomBytes(6).toString('hex')}`);
      await mkdir(path, { mode: 0o700 });
      return path;
    })();
    return this.#path;
  }

  /**
   * Moves what was staged under the destination's name: all of it at once when the destination
   * does not exist (or is an empty directory), else each path of `parts` (relative, files or
   * directories, in order) that the destination does not have yet, or has to be replaced.
   */
  async moveInto(parts: { path: string; replace: boolean }[]): Promise<void> {
    const staged = await this.path();
    const existing = await readdir(this.destination).catch(() => undefined);
    if (existing === undefined) {
      await rename(staged, this.destination);
      this.#path = undefined;
      return;
    }
    for (const part of parts) {
      const to = join(this.destination, part.path);
      if (!part.replace && (await stat(to).catch(() => undefined))) continue;
      await mkdir(dirname(to), { recursive: true });
      await rename(join(staged, part.path), to);
    }
    await this.remove();
  }

  /** Removes what was staged: after a failure, or after the parts were moved. */
  async remove(): Promise<void> {
    const staged = await this.#path?.catch(() => undefined);
    this.#path = undefined;
    if (staged) await rm(staged, { recursive: true, force: true });
  }
}
