import { readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PipelineError } from './errors.js';
import { runtimeConfig } from './runtime-config.js';
import { stackLayers } from './stack-layers.js';
import { type ImageToWrite, topmostOccurrences, UnpackingTarget } from './unpacking-target.js';

/**
 * `bundle:DIR`, an OCI runtime bundle that `runc run` starts: `rootfs/` with the image's layers
 * applied in order (whiteouts applied), and `config.json` from the image config. Each layer is
 * unpacked as it streams in, into its own directory, several at once; at commit they are stacked by
 * rename into `rootfs/`, and the bundle is moved under DIR's name (which must be new or empty).
 */
export class Bundle extends UnpackingTarget {
  readonly name: string;
  protected readonly whiteouts = 'report' as const;

  constructor(path: string) {
    super(resolve(path));
    this.name = `bundle:${path}`;
  }

  override async push(...args: Parameters<UnpackingTarget['push']>): Promise<void> {
    await this.#refuseNonEmpty();
    return super.push(...args);
  }

  protected async finish(image: ImageToWrite): Promise<void> {
    await this.#refuseNonEmpty();
    const layers = await this.stagedLayers(image);
    const staging = await this.staging.path();
    if (layers.length === 0)
      throw new PipelineError('UNSUPPORTED', `${this.name}: the image has no layers`, this.path);
    stackLayers(staging, topmostOccurrences(layers), 'rootfs');
    const config = runtimeConfig(image.config, join(staging, 'rootfs'));
    await writeFile(join(staging, 'config.json'), `${JSON.stringify(config, null, 2)}\n`, { mode: 0o644 });
    await rm(join(staging, 'layers'), { recursive: true, force: true });
    await this.staging.moveInto([
      { path: 'config.json', replace: true },
      { path: 'rootfs', replace: true },
    ]);
  }

  /** A bundle is written anew: a directory holding something else is not overwritten. */
  async #refuseNonEmpty(): Promise<void> {
    const names = await readdir(this.path).catch(() => []);
    if (names.some((name) => !name.startsWith('.concil-staging-'))) {
      throw new PipelineError(
        'TARGET_INVALID',
        `${this.name}: ${this.path} exists and is not empty; name a new directory or remove it`,
        this.path,
      );
    }
  }
}
