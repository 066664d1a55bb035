#!/usr/bin/env node
// pnpm bench:pipeline-unpack — the unpacking sinks' section (bench/lib/unpack-section.mjs: registry →
// extracted: and bundle: against skopeo copy + umoci unpack, on the ~1 GB bench image) run alone,
// until it joins the sections of `pnpm bench:pipeline`.
// Options: --runs N (3), --scale 0.05 (a 20× smaller image for a quick try), --json FILE,
// --work-dir /dev/shm (the system's temporary directory by default).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cliPath } from './lib/cli.mjs';
import { benchImageSpec, ensureBenchImage } from './lib/image.mjs';
import {
  formatBytes,
  formatKiB,
  formatRatio,
  formatSeconds,
  formatThroughput,
  median,
  printTable,
  settle,
} from './lib/measure.mjs';
import { unpackSection } from './lib/unpack-section.mjs';

const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const cacheDir = join(repoRoot, '.cache', 'bench');

const { values: options } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    json: { type: 'string' },
    scale: { type: 'string', default: '1' },
    'work-dir': { type: 'string', default: tmpdir() },
  },
});
const runs = Number.parseInt(options.runs, 10);
const log = (line) => console.log(line);

async function main() {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is not built: run pnpm build first`);
  await mkdir(cacheDir, { recursive: true });
  const image = await ensureBenchImage({ cacheDir, spec: benchImageSpec(Number(options.scale)), log });
  const layerBytes = image.layers.reduce((sum, l) => sum + l.size, 0);
  log(
    `image: ${image.layers.length} gzip layers, ${formatBytes(layerBytes)} of layers (${formatBytes(image.uncompressedBytes)} uncompressed)`,
  );
  const work = await mkdtemp(join(options['work-dir'], 'concil-bench-unpack-'));
  const section = await unpackSection({ image, work, log });
  try {
    const all = section.tasks;
    const results = Object.fromEntries(all.map((t) => [t.name, { seconds: [], rss: [], errors: [] }]));
    for (let run = 1; run <= runs; run++) {
      for (const task of all) {
        const dest = join(work, `out-${run}`);
        try {
          await settle();
          const { seconds, peakRssKiB } = await task.run(dest);
          results[task.name].seconds.push(seconds);
          results[task.name].rss.push(peakRssKiB);
          log(
            `run ${run}  ${task.name.padEnd(20)} ${formatSeconds(seconds).padStart(9)}  peak RSS ${formatKiB(peakRssKiB)}`,
          );
        } catch (error) {
          results[task.name].errors.push(error.message);
          log(`run ${run}  ${task.name.padEnd(20)} FAILED: ${error.message.split('\n')[0].slice(0, 400)}`);
        } finally {
          await rm(dest, { recursive: true, force: true });
        }
      }
    }
    const summary = Object.fromEntries(
      all.map(({ name }) => [
        name,
        {
          medianSeconds: median(results[name].seconds),
          medianPeakRssKiB: median(results[name].rss),
          runs: results[name].seconds,
          errors: results[name].errors,
        },
      ]),
    );
    log('');
    log(`${formatBytes(layerBytes)} of layers from a loopback registry, median of ${runs}:`);
    log('');
    printTable([
      ['task', 'median', 'throughput', 'peak RSS (median)'],
      ...all.map(({ name }) => [
        name,
        formatSeconds(summary[name].medianSeconds),
        formatThroughput(layerBytes, summary[name].medianSeconds),
        `${formatKiB(summary[name].medianPeakRssKiB)}${name.includes('umoci') ? ' (largest process)' : ''}`,
      ]),
    ]);
    log('');
    log(
      `${cpus().length} cores; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    const time = (name) => summary[name].medianSeconds;
    const ratios = {};
    for (const [label, a, b, goal] of section.ratios) {
      ratios[label] = { ratio: time(a) / time(b), goal };
      log(`${label.padEnd(36)} ${formatRatio(time(a), time(b))}  (goal ≤ ${goal})`);
    }
    const recordPath = options.json ?? join(cacheDir, 'pipeline-unpack-last.json');
    await writeFile(
      recordPath,
      `${JSON.stringify({ date: new Date().toISOString(), loadavg: loadavg(), scale: Number(options.scale), layerBytes, runs, summary, ratios }, null, 2)}\n`,
    );
    log(`\nresults written to ${recordPath}`);
    if (all.some((t) => results[t.name].seconds.length === 0)) process.exitCode = 1;
  } finally {
    await section.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
