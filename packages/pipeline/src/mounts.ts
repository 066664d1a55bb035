import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PipelineError } from './errors.js';
import type { UnpackedLayer } from './unpack-layer.js';
import { type ImageToWrite, topmostOccurrences, UnpackingTarget } from './unpacking-target.js';

/** What `mounts:DIR` records for `concil mount`: the layers, top first, and the overlay's options. */
export interface MountsRecord {
  /** Each layer, the top one first (overlayfs's lowerdir order). */
  layers: { digest: string; path: string; kind: 'directory' | 'squashfs'; mountpoint?: string }[];
  /** The overlayfs mount options that stack them (`lowerdir=…`), with absolute paths. */
  options: string;
}

export const MOUNTS_RECORD = 'mounts.json';
export const OVERLAY_OPTIONS = 'overlay.options';

export interface MountsOptions {
  /** Each layer as a squashfs file (mounted with a loop device by `concil mount`) instead of a directory. */
  squashfs?: boolean;
}

/**
 * `mounts:DIR`: each layer of the image as its own directory (`layers/sha256/HEX/`), or squashfs
 * file (`HEX.squashfs`), with its whiteouts as overlayfs's (a 0/0 character device, the
 * `trusted.overlay.opaque` xattr), and the overlay mount options that stack them in order
 * (`overlay.options`, `mounts.json`): `concil mount DIR TARGET` mounts the image read-only.
 * Layers another image already put in DIR are shared.
 */
export class Mounts extends UnpackingTarget {
  readonly name: string;
  protected readonly whiteouts = 'overlay' as const;
  readonly #squashfs: boolean;

  constructor(path: string, options: MountsOptions = {}) {
    super(resolve(path));
    this.name = `mounts:${path}`;
    this.#squashfs = options.squashfs ?? false;
    if (/[,:]/.test(this.path)) {
      throw new PipelineError(
        'TARGET_INVALID',
        `${this.name}: overlayfs's options separate directories with ":" and options with ",", so ${this.path} cannot be a layer's place; choose a directory without them`,
        this.path,
      );
    }
  }

  protected override layerPath(digest: string): string {
    return `${super.layerPath(digest)}${this.#squashfs ? '.squashfs' : ''}`;
  }

  protected override async unpackTo(
    tar: AsyncIterable<Uint8Array>,
    root: string,
    layer: string,
    headersFd: number | undefined,
  ): Promise<UnpackedLayer> {
    if (!this.#squashfs) return super.unpackTo(tar, root, layer, headersFd);
    // @concil/squashfs loads with the first layer written so, not with every opener of locations.
    const { createSquashfs } = await import('@concil/squashfs');
    await createSquashfs(tar, root, { overlayWhiteouts: true });
    return { whiteouts: [], crossLayerLinks: [], directories: new Set(), entries: [], devicesSkipped: 0 };
  }

  protected async finish(image: ImageToWrite): Promise<void> {
    const layers = await this.stagedLayers(image);
    const link = layers.find((layer) => layer.crossLayerLinks.length > 0)?.crossLayerLinks[0];
    if (link) {
      throw new PipelineError(
        'UNSUPPORTED',
        `${this.name}: the hard link ${link.path} of a layer points at ${link.target} in a layer below, which overlay layers cannot share; use bundle: or extracted:`,
        link.path,
      );
    }
    const staging = await this.staging.path();
    const top = topmostOccurrences(layers).reverse();
    const record: MountsRecord = {
      layers: top.map((layer) => ({
        digest: layer.digest,
        path: layer.path,
        kind: this.#squashfs ? 'squashfs' : 'directory',
        ...(this.#squashfs && { mountpoint: `mnt/${layer.digest.replace(':', '-')}` }),
      })),
      options: '',
    };
    // overlayfs wants two lower directories at least: an empty one at the bottom serves one-layer images.
    const lower = [
      ...record.layers.map((layer) => join(this.path, layer.mountpoint ?? layer.path)),
      join(this.path, 'empty'),
    ];
    record.options = `lowerdir=${lower.join(':')}`;
    await mkdir(join(staging, 'empty'), { recursive: true });
    await writeFile(join(staging, MOUNTS_RECORD), `${JSON.stringify(record, null, 2)}\n`);
    await writeFile(join(staging, OVERLAY_OPTIONS), `${record.options}\n`);
    await this.staging.moveInto([
      ...top.map((layer) => ({ path: layer.path, replace: false })),
      { path: 'empty', replace: false },
      { path: OVERLAY_OPTIONS, replace: true },
      { path: MOUNTS_RECORD, replace: true },
    ]);
  }
}
