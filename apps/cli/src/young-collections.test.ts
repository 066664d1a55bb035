import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import type { CopyProgress } from '@concil/image';
import type { Descriptor } from '@concil/oci-spec';
import { describe, expect, it } from 'vitest';
import {
  collectAllGarbage,
  collectYoungGeneration,
  PACE_BYTES,
  withYoungCollections,
} from './young-collections.js';

const layer = (n: number): Descriptor => ({
  mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
  digest: `sha256:${String(n).repeat(64)}`,
  size: 64 << 20,
});

describe('withYoungCollections', () => {
  it('collects once per 2 MiB moved, counting the running byte counts of blobs in parallel: all the garbage the first time, the young generation after', () => {
    const collections: string[] = [];
    const passed: CopyProgress[] = [];
    const onProgress = withYoungCollections((event) => passed.push(event), counting(collections));
    const events: CopyProgress[] = [
      { type: 'blob', desc: layer(1), state: 'start' },
      { type: 'blob', desc: layer(2), state: 'start' },
      { type: 'bytes', desc: layer(1), bytes: 768 << 10 },
      { type: 'bytes', desc: layer(2), bytes: 768 << 10 },
      { type: 'bytes', desc: layer(1), bytes: 1280 << 10 }, // 2 MiB in all: one collection
      { type: 'bytes', desc: layer(2), bytes: 2560 << 10 }, // 1.75 MiB since
      { type: 'blob', desc: layer(1), state: 'done' },
      { type: 'blob', desc: layer(3), state: 'start' },
      { type: 'bytes', desc: layer(3), bytes: 256 << 10 }, // 2 MiB since: the second
    ];
    for (const event of events) onProgress(event);
    expect(collections).toEqual(['full', 'young']);
    expect(passed).toEqual(events);
    expect(PACE_BYTES).toBe(2 << 20);
  });

  it('works without a display to pass events on to', () => {
    const collections: string[] = [];
    const onProgress = withYoungCollections(undefined, counting(collections));
    onProgress({ type: 'bytes', desc: layer(1), bytes: PACE_BYTES });
    onProgress({ type: 'bytes', desc: layer(1), bytes: 2 * PACE_BYTES });
    expect(collections).toEqual(['full', 'young']);
  });

  it('collects nothing in a copy of less than 2 MiB', () => {
    const collections: string[] = [];
    const onProgress = withYoungCollections(undefined, counting(collections));
    onProgress({ type: 'bytes', desc: layer(1), bytes: PACE_BYTES - 1 });
    onProgress({ type: 'blob', desc: layer(1), state: 'done' });
    expect(collections).toEqual([]);
  });
});

/** A collector that records the kinds of collection asked for. */
function counting(kinds: string[]) {
  return { young: () => kinds.push('young'), full: () => kinds.push('full') };
}

/** The kinds (NODE_PERFORMANCE_GC_*) of the collections that `collect` made. */
async function collectionsBy(collect: () => void): Promise<number[]> {
  const collections: { kind: number; startTime: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const { kind } = (entry as PerformanceEntry & { detail: { kind: number } }).detail;
      collections.push({ kind, startTime: entry.startTime });
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const before = performance.now();
  collect();
  const after = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  return collections.filter((c) => c.startTime >= before && c.startTime <= after).map((c) => c.kind);
}

describe('collectYoungGeneration and collectAllGarbage', () => {
  it('run a young-generation collection in a process started without --expose-gc', async () => {
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    expect(await collectionsBy(collectYoungGeneration)).toEqual([constants.NODE_PERFORMANCE_GC_MINOR]);
  });

  it('run full collections only, as many as V8 needs to give back all it can', async () => {
    const kinds = await collectionsBy(collectAllGarbage);
    expect(kinds[0]).toBe(constants.NODE_PERFORMANCE_GC_MAJOR);
    expect(kinds.filter((kind) => kind !== constants.NODE_PERFORMANCE_GC_MAJOR)).toEqual([]);
  });
});
