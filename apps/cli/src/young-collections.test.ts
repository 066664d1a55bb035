import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import type { CopyProgress } from '@concil/image';
import type { Descriptor } from '@concil/oci-spec';
import { describe, expect, it } from 'vitest';
import { collectYoungGeneration, PACE_BYTES, withYoungCollections } from './young-collections.js';

const layer = (n: number): Descriptor => ({
  mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
  digest: `sha256:${String(n).repeat(64)}`,
  size: 64 << 20,
});

describe('withYoungCollections', () => {
  it('collects once per 2 MiB moved, counting the running byte counts of blobs in parallel', () => {
    let collections = 0;
    const passed: CopyProgress[] = [];
    const onProgress = withYoungCollections(
      (event) => passed.push(event),
      () => collections++,
    );
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
    expect(collections).toBe(2);
    expect(passed).toEqual(events);
    expect(PACE_BYTES).toBe(2 << 20);
  });

  it('works without a display to pass events on to', () => {
    let collections = 0;
    const onProgress = withYoungCollections(undefined, () => collections++);
    onProgress({ type: 'bytes', desc: layer(1), bytes: PACE_BYTES });
    expect(collections).toBe(1);
  });
});

describe('collectYoungGeneration', () => {
  it('runs a young-generation collection in a process started without --expose-gc', async () => {
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    const collections: { kind: number; startTime: number }[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const { kind } = (entry as PerformanceEntry & { detail: { kind: number } }).detail;
        collections.push({ kind, startTime: entry.startTime });
      }
    });
    observer.observe({ entryTypes: ['gc'] });
    const before = performance.now();
    collectYoungGeneration();
    const after = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 50));
    observer.disconnect();
    const during = collections.filter((c) => c.startTime >= before && c.startTime <= after);
    expect(during.map((c) => c.kind)).toEqual([constants.NODE_PERFORMANCE_GC_MINOR]);
  });
});
