import type { CopyProgress } from '@concil/image';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';

/** A progress display for copies: one bar per blob in flight, on a terminal only. */
export function createCopyProgress(enabled: boolean): {
  onProgress?: (event: CopyProgress) => void;
  stop(): void;
} {
  if (!enabled) return { stop() {} };
  const bars = new MultiBar(
    {
      format: ' {name} [{bar}] {percentage}% | {value}/{total} MB',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      stream: process.stderr,
    },
    Presets.shades_classic,
  );
  const active = new Map<string, SingleBar>();
  const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
  return {
    onProgress(event) {
      const short = event.desc.digest.slice(7, 19);
      if (event.type === 'bytes') {
        active.get(event.desc.digest)?.update(mb(event.bytes));
        return;
      }
      if (event.state === 'start') {
        active.set(event.desc.digest, bars.create(mb(event.desc.size), 0, { name: short }));
      } else if (event.state === 'done') {
        active.get(event.desc.digest)?.update(mb(event.desc.size));
      } else {
        bars.log(` ${short} ${event.state === 'skipped' ? 'already there' : 'mounted'}\n`);
      }
    },
    stop() {
      bars.stop();
    },
  };
}
