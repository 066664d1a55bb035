import type { CopyProgress } from '@concil/image';
import type { SingleBar } from 'cli-progress';
import { formatBytes } from './format.js';

/**
 * A progress display for copies: one bar per blob in flight, on a terminal only (the bar library
 * is loaded only then).
 */
export async function createCopyProgress(enabled: boolean): Promise<{
  onProgress?: (event: CopyProgress) => void;
  stop(): void;
}> {
  if (!enabled) return { stop() {} };
  const { MultiBar, Presets } = await import('./progress-bars.js');
  const bars = new MultiBar(
    {
      // Bars count bytes; the tokens show them in the unit that suits the blob (876 B, 2.1 MB).
      format: ' {name} [{bar}] {percentage}% | {done}/{size}',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      stream: process.stderr,
    },
    Presets.shades_classic,
  );
  const active = new Map<string, SingleBar>();
  const done = (bytes: number) => ({ done: formatBytes(bytes) });
  return {
    onProgress(event) {
      const short = event.desc.digest.slice(7, 19);
      if (event.type === 'bytes') {
        active.get(event.desc.digest)?.update(event.bytes, done(event.bytes));
        return;
      }
      if (event.state === 'start') {
        const size = formatBytes(event.desc.size);
        active.set(event.desc.digest, bars.create(event.desc.size, 0, { name: short, size, ...done(0) }));
      } else if (event.state === 'done') {
        active.get(event.desc.digest)?.update(event.desc.size, done(event.desc.size));
      } else {
        bars.log(` ${short} ${event.state === 'skipped' ? 'already there' : 'mounted'}\n`);
      }
    },
    stop() {
      bars.stop();
    },
  };
}
