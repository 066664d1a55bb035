// Running a bench's tasks side by side: each run of each task in turn, after `settle()`, writing
// under a directory of its own that is removed afterwards; then the medians and their table.
import { rm } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { formatKiB, formatSeconds, formatThroughput, median, printTable, settle } from './measure.mjs';

/**
 * Runs every task (`{ name, run(dest) → { seconds, peakRssKiB, cpuSeconds } }`, as `measure`
 * gives) `runs` times, logging each run; a failed run is logged and recorded, the others go on.
 * Returns per task its median time, peak RSS and CPU time, every run's time and the errors.
 */
export async function runTasks(tasks, { runs, work, log }) {
  const results = Object.fromEntries(
    tasks.map((t) => [t.name, { seconds: [], rss: [], cpu: [], errors: [] }]),
  );
  const width = Math.max(...tasks.map((t) => t.name.length));
  for (let run = 1; run <= runs; run++) {
    for (const task of tasks) {
      const dest = join(work, `out-${run}`);
      try {
        await settle();
        const { seconds, peakRssKiB, cpuSeconds } = await task.run(dest);
        results[task.name].seconds.push(seconds);
        results[task.name].rss.push(peakRssKiB);
        results[task.name].cpu.push(cpuSeconds);
        log(
          `run ${run}  ${task.name.padEnd(width)} ${formatSeconds(seconds).padStart(9)}  CPU ${formatSeconds(cpuSeconds)}  peak RSS ${formatKiB(peakRssKiB)}`,
        );
      } catch (error) {
        results[task.name].errors.push(error.message);
        log(`run ${run}  ${task.name.padEnd(width)} FAILED: ${error.message.split('\n')[0].slice(0, 400)}`);
      } finally {
        await rm(dest, { recursive: true, force: true });
      }
    }
  }
  return Object.fromEntries(
    tasks.map(({ name }) => [
      name,
      {
        medianSeconds: median(results[name].seconds),
        medianPeakRssKiB: median(results[name].rss),
        medianCpuSeconds: median(results[name].cpu),
        runs: results[name].seconds,
        errors: results[name].errors,
      },
    ]),
  );
}

/**
 * The table of the tasks' medians (time, throughput over `bytes`, CPU time, peak RSS; `largestProcess`
 * marks the tasks whose RSS is that of the largest of several processes), then the machine's load.
 */
export function printSummary(tasks, summary, bytes, { log, largestProcess = () => false }) {
  printTable([
    ['task', 'median', 'throughput', 'CPU (median)', 'peak RSS (median)'],
    ...tasks.map(({ name }) => [
      name,
      formatSeconds(summary[name].medianSeconds),
      formatThroughput(bytes, summary[name].medianSeconds),
      formatSeconds(summary[name].medianCpuSeconds),
      `${formatKiB(summary[name].medianPeakRssKiB)}${largestProcess(name) ? ' (largest process)' : ''}`,
    ]),
  ]);
  log('');
  log(
    `${cpus().length} cores; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
}
