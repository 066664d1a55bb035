import type { Readable } from 'node:stream';
import type { Descriptor, FetchOptions, ReadOnlyTarget } from '@concil/oci-spec';
import type { Store } from './store.js';
import type { StoreTarget } from './store-target.js';

/**
 * A cached reference read whole, e.g. every platform of an index: the root resolves from the
 * cache, each blob is served from the cache when it is there whole and from `fallback` (the
 * registry) when it is not. Every byte is verified by the copy that reads it, wherever it comes from.
 */
export class ReadThroughTarget implements ReadOnlyTarget {
  readonly name: string;
  readonly #store: Store;
  readonly #cache: StoreTarget;
  readonly #fallback: ReadOnlyTarget;

  constructor(store: Store, cache: StoreTarget, fallback: ReadOnlyTarget) {
    this.#store = store;
    this.#cache = cache;
    this.#fallback = fallback;
    this.name = fallback.name;
  }

  resolve(reference?: string): Promise<Descriptor> {
    return this.#cache.resolve(reference);
  }

  async exists(desc: Descriptor): Promise<boolean> {
    return (await this.#store.hasBlob(desc)) || this.#fallback.exists(desc);
  }

  async fetch(desc: Descriptor, options?: FetchOptions): Promise<Readable> {
    return (await this.#store.openBlob(desc)) ?? this.#fallback.fetch(desc, options);
  }
}
