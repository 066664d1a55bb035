import type { CopyProgress } from '@concil/image';

/**
 * Bytes moved between two collections of the young generation: 2 MiB. A buffer still queued at
 * two collections in a row is moved to the old generation, where it is freed only by a full
 * collection (a copy makes one or two): with 1 MiB, the chunks queued in a copy of four layers
 * (~3 MiB) went there, and a 1 GB copy peaked ~15 MiB higher; with 8 MiB, up to 8 MiB of dead
 * buffers waited for each collection, ~8 MiB more at the peak than with 2.
 */
export const PACE_BYTES = 2 << 20;

/** How the collections are made: V8's by default (a test counts them instead). */
export interface Collector {
  young(): void;
  full(): void;
}

/**
 * Every socket or file read hands its bytes over in a fresh buffer, and V8 frees a dead one only
 * when it collects the young generation. It does that by how much JavaScript allocates, not by
 * how many buffer bytes died, and a copy allocates little JavaScript: copying 1 GB kept 40–60 MiB
 * of dead buffers between collections. Collecting every 2 MiB moved keeps them to a few MiB, at
 * ~0.2 ms per collection (~0.1 s in a copy of 1 GB).
 *
 * The first of them is a full collection that also shrinks the young generation: start-up leaves
 * the garbage of loading the modules, and a young generation grown to its largest while they
 * loaded, which paced collections never need (a 1 GB copy peaked ~7 MiB lower, for one
 * collection of 20–60 ms; a copy of less than 2 MiB never makes it).
 *
 * Returns a copy progress callback that does this, then passes the event on to `next`.
 */
export function withYoungCollections(
  next?: (event: CopyProgress) => void,
  collector: Collector = v8Collector,
): (event: CopyProgress) => void {
  const seen = new Map<string, number>();
  let moved = 0;
  let collected = false;
  return (event) => {
    if (event.type === 'bytes') {
      moved += event.bytes - (seen.get(event.desc.digest) ?? 0);
      seen.set(event.desc.digest, event.bytes);
      if (moved >= PACE_BYTES) {
        moved = 0;
        if (collected) collector.young();
        else collector.full();
        collected = true;
      }
    } else if (event.state === 'done') {
      seen.delete(event.desc.digest);
    }
    next?.(event);
  };
}

type GcOptions = { type: 'minor' } | { type: 'major'; flavor: 'last-resort' };
let gc: ((options: GcOptions) => void) | undefined;

/**
 * V8's `gc`. Node has it behind `--expose-gc`; setting that flag at run time exposes `gc` to
 * contexts created afterwards (as Jest's leak detector does), so this works however node was
 * started. node:v8 and node:vm load here, on the first collection: a small copy or a cached pull
 * never pays for them (~2 ms).
 */
function exposedGc(): (options: GcOptions) => void {
  if (!gc) {
    const exposed = (globalThis as { gc?: typeof gc }).gc;
    if (exposed) gc = exposed;
    else {
      process.getBuiltinModule('node:v8').setFlagsFromString('--expose-gc');
      gc = process.getBuiltinModule('node:vm').runInNewContext('gc') as typeof gc;
    }
  }
  return gc!;
}

/** One collection of the young generation. */
export function collectYoungGeneration(): void {
  exposedGc()({ type: 'minor' });
}

/**
 * A full collection that gives back all it can, the young generation shrunk to its least
 * (V8's last-resort collection, as under memory pressure).
 */
export function collectAllGarbage(): void {
  exposedGc()({ type: 'major', flavor: 'last-resort' });
}

const v8Collector: Collector = { young: collectYoungGeneration, full: collectAllGarbage };
