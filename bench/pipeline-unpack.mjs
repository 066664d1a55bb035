#!/usr/bin/env node
// pnpm bench:pipeline-unpack — the pipeline's unpacking sinks on the large bench image (~1 GB of gzip
// layers) pulled from a loopback docker-registry: `concil copy docker://… extracted:DIR` and
// `concil copy docker://… bundle:DIR` (one streaming pass: each layer unpacked as it arrives, several
// at once, no blob written to disk) against what people do today, `skopeo copy` into an OCI layout
// then `umoci unpack` of it. Goal: concil/(skopeo + umoci) ≤ 0.8 for both.
// A section of `pnpm bench:pipeline` to be: it is a file of its own until that bench is merged.
// Options: --runs N (3), --scale 0.05 (a 20× smaller image for a quick try), --json FILE,
// --work-dir /dev/shm (the system's temporary directory by default).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CLI_NODE_FLAGS, cliPath } from './lib/cli.mjs';
import { benchImageSpec, ensureBenchImage, pushImage } from './lib/image.mjs';
import {
  formatBytes,
  formatKiB,
  formatRatio,
  formatSeconds,
  formatThroughput,
  measure,
  median,
  printTable,
  settle,
} from './lib/measure.mjs';
import { startBenchRegistry } from './lib/registry.mjs';

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

/** The tasks, each `run(dest)` → `{ seconds, peakRssKiB }` writing under `dest`. */
function tasks(source) {
  const concil = (destination) =>
    measure(process.execPath, [...CLI_NODE_FLAGS, cliPath, 'copy', '-q', source, destination]);
  const rootless = process.getuid?.() === 0 ? '' : '--rootless ';
  return [
    { name: 'extracted concil', run: (dest) => concil(`extracted:${dest}:bench:latest`) },
    { name: 'bundle concil', run: (dest) => concil(`bundle:${dest}`) },
    {
      name: 'skopeo + umoci',
      run: async (dest) => {
        await mkdir(dest, { recursive: true });
        return measure('sh', [
          '-c',
          `skopeo --insecure-policy copy --quiet --src-tls-verify=false '${source}' 'oci:${dest}/layout:latest' && umoci unpack ${rootless}--image '${dest}/layout:latest' '${dest}/bundle'`,
        ]);
      },
    },
  ];
}

const RATIOS = [
  ['extracted concil/(skopeo + umoci)', 'extracted concil', 'skopeo + umoci', 0.8],
  ['bundle concil/(skopeo + umoci)', 'bundle concil', 'skopeo + umoci', 0.8],
];

async function main() {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is not built: run pnpm build first`);
  await mkdir(cacheDir, { recursive: true });
  const image = await ensureBenchImage({ cacheDir, spec: benchImageSpec(Number(options.scale)), log });
  const layerBytes = image.layers.reduce((sum, l) => sum + l.size, 0);
  log(
    `image: ${image.layers.length} gzip layers, ${formatBytes(layerBytes)} of layers (${formatBytes(image.uncompressedBytes)} uncompressed)`,
  );
  const registry = await startBenchRegistry();
  const work = await mkdtemp(join(options['work-dir'], 'concil-bench-unpack-'));
  try {
    const source = `docker://${registry.host}/bench:latest`;
    await pushImage(image.reference, source);
    const all = tasks(source);
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
    for (const [label, a, b, goal] of RATIOS) {
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
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
