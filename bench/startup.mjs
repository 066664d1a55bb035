#!/usr/bin/env node
// pnpm bench:startup — how fast concil starts and finishes the small jobs people type by hand,
// beside skopeo, each a whole process from spawn to exit, on a ~0.6 MB image in a loopback
// docker-registry:
//   copy docker://… DIR (empty cache)  vs  skopeo copy docker://… dir:DIR        goal ≤ 0.12 s
//   list docker://…                    vs  skopeo inspect docker://…             goal ≤ 0.08 s
//   list DIR                           vs  skopeo inspect dir:DIR                goal ≤ 0.06 s
//   --help                             vs  skopeo --help                         goal ≤ 0.05 s
//   pull docker://… (cached: one HEAD)                                           goal ≤ 0.10 s
// concil is started as people start it: ./concil at the root of the repository. Also printed:
// `node -e 0` (the floor: Node's own start) and the cost of the launcher over starting Node directly.
// Medians of --runs N (10), the tools taking turns; --json FILE.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CLI_NODE_FLAGS, cliPath, concilLauncher } from './lib/cli.mjs';
import { ensureBenchImage, pushImage } from './lib/image.mjs';
import { formatRatio, median, printTable, wallTime } from './lib/measure.mjs';
import { startBenchRegistry } from './lib/registry.mjs';

const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const cacheDir = join(repoRoot, '.cache', 'bench');
/** One gzip layer of 0.5 MiB of random data and 0.25 MiB of text: 0.6 MB of blobs. */
const SMALL_IMAGE = { layers: 1, randomMiB: 0.5, textMiB: 0.25, fileMiB: 0.25 };

const { values: options } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    json: { type: 'string' },
  },
});
const runs = Number.parseInt(options.runs, 10);
const log = (line) => console.log(line);

async function main() {
  await mkdir(cacheDir, { recursive: true });
  const image = await ensureBenchImage({ cacheDir, spec: SMALL_IMAGE, log });
  const registry = await startBenchRegistry();
  const work = await mkdtemp(join(tmpdir(), 'concil-bench-startup-'));
  try {
    const reference = `docker://${registry.host}/startup:1`;
    await pushImage(image.reference, reference);
    log(`image: ${(image.totalBytes / 1e6).toFixed(2)} MB in ${reference}`);

    // Two caches: one that stays empty (a copy as a first-time user meets it), one that holds the
    // image (the cached pull).
    const config = async (name) => {
      const dir = join(work, name);
      await mkdir(dir, { recursive: true });
      const path = join(dir, 'config.json');
      await writeFile(path, JSON.stringify({ cache_dir: join(dir, 'cache') }));
      return { ...process.env, CONCIL_CONFIG: path };
    };
    const emptyCache = await config('empty');
    const warmCache = await config('warm');
    const imageDir = join(work, 'image-dir');
    const copyDir = join(work, 'copy');
    const concil = (args, env = emptyCache) => wallTime(concilLauncher, args, { env });
    const skopeo = (args) => wallTime('skopeo', args);
    await skopeo(['copy', '--quiet', '--src-tls-verify=false', reference, `dir:${imageDir}`]);
    await concil(['pull', '-q', reference], warmCache);

    /** Each case: what concil runs, what skopeo runs for the same job (if anything), the goal. */
    const cases = [
      {
        name: 'copy (registry → dir)',
        concil: async () => {
          await rm(copyDir, { recursive: true, force: true });
          return concil(['copy', '-q', reference, copyDir]);
        },
        skopeo: async () => {
          await rm(copyDir, { recursive: true, force: true });
          return skopeo(['copy', '--quiet', '--src-tls-verify=false', reference, `dir:${copyDir}`]);
        },
        goal: 0.12,
      },
      {
        name: 'list docker://',
        concil: () => concil(['list', reference]),
        skopeo: () => skopeo(['inspect', '--tls-verify=false', reference]),
        goal: 0.08,
      },
      {
        name: 'list DIR',
        concil: () => concil(['list', imageDir]),
        skopeo: () => skopeo(['inspect', `dir:${imageDir}`]),
        goal: 0.06,
      },
      { name: '--help', concil: () => concil(['--help']), skopeo: () => skopeo(['--help']), goal: 0.05 },
      { name: 'pull (cached)', concil: () => concil(['pull', '-q', reference], warmCache), goal: 0.1 },
    ];
    const extras = {
      floor: () => wallTime(process.execPath, ['-e', '0']),
      direct: () => wallTime(process.execPath, [...CLI_NODE_FLAGS, cliPath, '--help'], { env: emptyCache }),
    };

    // One untimed round: the compile cache, the page cache and the registry warmed for everyone.
    for (const c of cases) {
      await c.concil();
      await c.skopeo?.();
    }
    const times = Object.fromEntries([
      ...cases.flatMap((c) => [
        [`${c.name}:concil`, []],
        [`${c.name}:skopeo`, []],
      ]),
      ...Object.keys(extras).map((name) => [name, []]),
    ]);
    for (let run = 1; run <= runs; run++) {
      for (const c of cases) {
        // The tools take turns going first, so neither always runs on the other's leftovers.
        const pair = [
          ['concil', c.concil],
          ['skopeo', c.skopeo],
        ].filter(([, action]) => action);
        for (const [tool, action] of run % 2 ? pair : pair.reverse()) {
          times[`${c.name}:${tool}`].push(await action());
        }
      }
      for (const [name, action] of Object.entries(extras)) times[name].push(await action());
    }

    const m = Object.fromEntries(Object.entries(times).map(([name, values]) => [name, median(values)]));
    const seconds = (value) => (Number.isFinite(value) ? `${value.toFixed(3)} s` : '');
    const load = loadavg().map((value) => value.toFixed(1));
    log(
      `\nload average ${load.join(' ')} on ${availableParallelism()} CPUs (busy machines make noisy figures)`,
    );
    log(`whole processes, median of ${runs}; concil started as ./concil\n`);
    printTable([
      ['command', 'concil', 'skopeo', 'ratio', 'goal', 'met'],
      ...cases.map((c) => {
        const ours = m[`${c.name}:concil`];
        const theirs = m[`${c.name}:skopeo`];
        return [
          c.name,
          seconds(ours),
          seconds(theirs),
          c.skopeo ? formatRatio(ours, theirs) : '',
          `≤ ${c.goal.toFixed(2)} s`,
          ours <= c.goal ? '✓' : '✗',
        ];
      }),
    ]);
    log('');
    log(`node -e 0 (the floor: Node's own start)        ${seconds(m.floor)}`);
    log(`--help without the launcher (node concil.js)   ${seconds(m.direct)}`);
    log(`the launcher's cost (./concil over node)       ${seconds(m['--help:concil'] - m.direct)}`);

    const record = {
      date: new Date().toISOString(),
      image: { spec: SMALL_IMAGE, bytes: image.totalBytes },
      runs,
      times,
      medians: m,
      goals: Object.fromEntries(cases.map((c) => [c.name, c.goal])),
      loadAverage: loadavg(),
    };
    const recordPath = options.json ?? join(cacheDir, 'startup-last.json');
    await writeFile(recordPath, `${JSON.stringify(record, null, 2)}\n`);
    log(`\nresults written to ${recordPath}`);
  } finally {
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
