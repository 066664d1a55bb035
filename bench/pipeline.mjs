#!/usr/bin/env node
// pnpm bench:pipeline — the pipeline's filters and sinks on the large bench image (an OCI layout of
// gzip layers, ~1 GB), each beside what people do today with other tools, in sections:
//   normalize  `concil process -f normalize-timestamps` (OCI layout → OCI layout: every layer read,
//              its mtimes set to 0, written again as tar+gzip, digests recomputed) against GNU tar
//              re-tarring the unpacked layers (`tar --mtime=@0 … | gzip -n`, every layer at once;
//              the unpacking is done beforehand and not timed). Goal: concil/GNU tar ≤ 1.0.
//   unpack     `concil copy docker://… extracted:DIR` and `… bundle:DIR` from a loopback registry
//              against `skopeo copy` + `umoci unpack` (bench/lib/unpack-section.mjs). Goal ≤ 0.8.
// More sections add themselves to SECTIONS (name → prepare, tasks and the ratios they report).
// Options: --runs N (3), --scale 0.05 (a 20× smaller image for a quick try), --sections a,b
// (all by default), --json FILE, --work-dir /dev/shm (the system's temporary directory by default).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBenchImage, parseBenchOptions, writeBenchRecord } from './lib/bench-setup.mjs';
import { CLI_NODE_FLAGS, cliPath } from './lib/cli.mjs';
import { formatBytes, formatRatio, measure } from './lib/measure.mjs';
import { printSummary, runTasks } from './lib/tasks.mjs';
import { unpackSection } from './lib/unpack-section.mjs';

const _repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));

/**
 * The sections of the bench. Each gets `{ image, work, log }` and returns its tasks (a name and
 * `run(dest)`, which measures one run writing under `dest`) and its ratios ([label, task, task,
 * goal]); what `prepare` makes (untimed) is under `work`.
 */
const SECTIONS = {
  async normalize({ image, work }) {
    // GNU tar re-tars what the layers unpack to: unpacked once, untimed.
    const unpacked = [];
    for (const [i, layer] of image.layers.entries()) {
      const dir = join(work, `unpacked-${i}`);
      await mkdir(dir, { recursive: true });
      await measure('tar', ['-xzf', blobPath(image, layer.digest), '-C', dir]);
      unpacked.push(dir);
    }
    const gnuTar = (dest) =>
      unpacked
        .map(
          (dir, i) =>
            `(tar --mtime=@0 --sort=name --numeric-owner -C '${dir}' -cf - . | gzip -6 -n > '${dest}/layer-${i}.tar.gz') &`,
        )
        .join('\n');
    return {
      tasks: [
        {
          name: 'normalize concil',
          run: (dest) =>
            measure(process.execPath, [
              ...CLI_NODE_FLAGS,
              cliPath,
              'process',
              '-q',
              '-f',
              'normalize-timestamps',
              image.reference,
              `oci:${dest}:latest`,
            ]),
        },
        {
          name: 'normalize GNU tar',
          run: async (dest) => {
            await mkdir(dest, { recursive: true });
            return measure('sh', ['-c', `${gnuTar(dest)}\nwait`]);
          },
        },
      ],
      ratios: [['normalize concil/GNU tar', 'normalize concil', 'normalize GNU tar', 1.0]],
    };
  },
  unpack: unpackSection,
};

const { options, runs } = parseBenchOptions({
  sections: { type: 'string', default: Object.keys(SECTIONS).join(',') },
});
const log = (line) => console.log(line);

function blobPath(image, digest) {
  return join(image.dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

async function main() {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is not built: run pnpm build first`);
  const chosen = options.sections.split(',').map((name) => name.trim());
  const unknown = chosen.filter((name) => !(name in SECTIONS));
  if (unknown.length > 0)
    throw new Error(`unknown sections ${unknown.join(', ')}; there are ${Object.keys(SECTIONS).join(', ')}`);
  const image = await loadBenchImage({ scale: options.scale, log });
  const { layerBytes } = image;
  const work = await mkdtemp(join(options['work-dir'], 'concil-bench-pipeline-'));
  try {
    const tasks = [];
    const ratios = [];
    const stops = [];
    for (const name of chosen) {
      const section = await SECTIONS[name]({ image, work: join(work, name), log });
      tasks.push(...section.tasks);
      ratios.push(...section.ratios);
      if (section.stop) stops.push(section.stop);
    }
    try {
      const summary = await runTasks(tasks, { runs, work, log });
      log('');
      log(`${formatBytes(layerBytes)} of layers, median of ${runs}:`);
      log('');
      printSummary(tasks, summary, layerBytes, { log, largestProcess: (name) => name.includes('GNU') });
      // On a busy machine the wall times tell how the scheduler shared it too; CPU time is what each
      // cost, whatever else ran meanwhile.
      const time = (name) => summary[name].medianSeconds;
      const cpu = (name) => summary[name].medianCpuSeconds;
      const ratioSummary = {};
      for (const [label, a, b, goal] of ratios) {
        ratioSummary[label] = { ratio: time(a) / time(b), cpuRatio: cpu(a) / cpu(b), goal };
        log(
          `${label.padEnd(28)} ${formatRatio(time(a), time(b))}  (goal ≤ ${goal}; CPU time ${formatRatio(cpu(a), cpu(b))})`,
        );
      }
      const record = { scale: Number(options.scale), layerBytes, runs, summary, ratios: ratioSummary };
      await writeBenchRecord('pipeline', options, record, log);
      if (tasks.some((t) => summary[t.name].runs.length === 0)) process.exitCode = 1;
    } finally {
      for (const stop of stops) await stop(); // the registries sections started
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
