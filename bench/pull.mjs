#!/usr/bin/env node
// pnpm bench:pull — `concil pull` (the store, through the built @concil/store) against skopeo,
// pulling a ~1 GB image of gzip layers from a loopback docker-registry:
//   cold pull into an empty cache        vs  skopeo copy docker://… dir:…        (goal ≤ 1.0×)
//   warm pull (cached: one HEAD)         wall time of the whole process      (goal ≤ 0.3 s)
//   cold pull with squashfs conversion   vs  skopeo copy, then tar2sqfs of each layer in sequence
//                                                                                (goal ≤ 0.8×)
// Medians of --runs N (3). --scale 0.05 for a quick try with a 20× smaller image; --json FILE;
// --work-dir DIR (where the copies go; the system's temporary directory by default).
// Each concil run is the built `concil pull` in a fresh process, as a user runs it. Peak RSS is
// printed beside the time, concil's and the reference's (for skopeo + tar2sqfs, the largest).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { CLI_NODE_FLAGS, cliPath } from './lib/cli.mjs';

await main();

async function main() {
  const { pushImage } = await import('./lib/image.mjs');
  const { loadBenchImage, parseBenchOptions, writeBenchRecord } = await import('./lib/bench-setup.mjs');
  const { formatBytes, formatKiB, formatRatio, formatSeconds, measure, median, printTable, settle } =
    await import('./lib/measure.mjs');
  const { startBenchRegistry } = await import('./lib/registry.mjs');
  const { options, runs } = parseBenchOptions();
  const log = (line) => console.log(line);
  const image = await loadBenchImage({ scale: options.scale, log });
  const blobBytes = image.blobs.reduce((sum, b) => sum + b.size, 0);

  const registry = await startBenchRegistry();
  const work = await mkdtemp(join(options['work-dir'], 'concil-bench-pull-'));
  try {
    const reference = `docker://${registry.host}/bench:latest`;
    let started = Date.now();
    await pushImage(image.reference, reference);
    log(`pushed to ${reference} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // Warm-up, untimed: the registry's files in the page cache for everyone.
    started = Date.now();
    await measure('skopeo', [
      'copy',
      '--quiet',
      '--src-tls-verify=false',
      reference,
      `dir:${join(work, 'warmup')}`,
    ]);
    await rm(join(work, 'warmup'), { recursive: true, force: true });
    log(`warm-up pass in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

    // The real command, started as `pnpm concil` starts it, with a cache of its own.
    const concilPull = async (cache, squashfs) => {
      await mkdir(cache, { recursive: true });
      const config = join(cache, 'config.json');
      await writeFile(config, JSON.stringify({ cache_dir: cache }));
      const args = [...CLI_NODE_FLAGS, cliPath, 'pull', '-q', ...(squashfs ? ['--squashfs'] : []), reference];
      return measure(process.execPath, args, { env: { ...process.env, CONCIL_CONFIG: config } });
    };
    const skopeoCopy = (dest) =>
      measure('skopeo', ['copy', '--quiet', '--src-tls-verify=false', reference, `dir:${dest}`]);
    const skopeoThenTar2sqfs = async (dest) => {
      const copied = await skopeoCopy(dest);
      let seconds = copied.seconds;
      let peakRssKiB = copied.peakRssKiB;
      for (const layer of image.layers) {
        const hex = layer.digest.slice('sha256:'.length);
        const converted = await measure('sh', [
          '-c',
          `gzip -dc "${join(dest, hex)}" | tar2sqfs -q -f -c zstd -X level=10 "${join(dest, `${hex}.sqfs`)}"`,
        ]);
        seconds += converted.seconds;
        peakRssKiB = Math.max(peakRssKiB, converted.peakRssKiB);
      }
      return { seconds, peakRssKiB };
    };

    const times = {
      cold: [],
      skopeo: [],
      warm: [],
      coldSquashfs: [],
      skopeoTar2sqfs: [],
    };
    /** Peak RSS (KiB) of each run, as `times`: of the largest process for several. */
    const peaks = Object.fromEntries(Object.keys(times).map((name) => [name, []]));
    for (let run = 1; run <= runs; run++) {
      const cache = join(work, `cache-${run}`);
      const step = async (name, action) => {
        await settle();
        const { seconds, peakRssKiB } = await action();
        times[name].push(seconds);
        peaks[name].push(peakRssKiB);
        log(
          `run ${run}  ${name.padEnd(15)} ${formatSeconds(seconds).padStart(9)}  peak RSS ${formatKiB(peakRssKiB)}`,
        );
      };
      // Each pair runs in the other order on every other run: whichever runs right after a
      // gigabyte of writes pays for some of them, and neither side should always be that one.
      const coldPair = [
        async () => {
          await step('cold', () => concilPull(cache, false));
          await step('warm', () => concilPull(cache, false));
          await rm(cache, { recursive: true, force: true });
        },
        async () => {
          await step('skopeo', () => skopeoCopy(join(work, `skopeo-${run}`)));
          await rm(join(work, `skopeo-${run}`), { recursive: true, force: true });
        },
      ];
      const squashfsPair = [
        async () => {
          await step('coldSquashfs', () => concilPull(cache, true));
          await rm(cache, { recursive: true, force: true });
        },
        async () => {
          await step('skopeoTar2sqfs', () => skopeoThenTar2sqfs(join(work, `sqfs-${run}`)));
          await rm(join(work, `sqfs-${run}`), { recursive: true, force: true });
        },
      ];
      for (const pair of [coldPair, squashfsPair]) {
        for (const action of run % 2 ? pair : [...pair].reverse()) await action();
      }
    }
    const m = Object.fromEntries(Object.entries(times).map(([name, values]) => [name, median(values)]));
    const rss = (name) => formatKiB(median(peaks[name]));
    const load = loadavg().map((value) => value.toFixed(1));
    log(
      `\nload average ${load.join(' ')} on ${availableParallelism()} CPUs (busy machines make noisy figures)`,
    );
    log('');
    log(`pull of ${formatBytes(blobBytes)} of blobs from a loopback registry, median of ${runs}:`);
    log('');
    printTable([
      ['what', 'concil', 'reference', 'ratio', 'goal', 'peak RSS concil', 'reference'],
      [
        'cold pull',
        formatSeconds(m.cold),
        `${formatSeconds(m.skopeo)} skopeo copy`,
        formatRatio(m.cold, m.skopeo),
        '≤ 1.0×',
        rss('cold'),
        rss('skopeo'),
      ],
      ['warm pull', formatSeconds(m.warm), '', '', '≤ 0.30 s', rss('warm'), ''],
      [
        'cold pull --squashfs',
        formatSeconds(m.coldSquashfs),
        `${formatSeconds(m.skopeoTar2sqfs)} skopeo + tar2sqfs`,
        formatRatio(m.coldSquashfs, m.skopeoTar2sqfs),
        '≤ 0.8×',
        rss('coldSquashfs'),
        rss('skopeoTar2sqfs'),
      ],
    ]);
    await writeBenchRecord(
      'pull',
      options,
      {
        image: { spec: image.spec, blobBytes, uncompressedBytes: image.uncompressedBytes },
        runs,
        times,
        peakRssKiB: peaks,
        medians: m,
        ratios: { cold: m.cold / m.skopeo, squashfs: m.coldSquashfs / m.skopeoTar2sqfs },
      },
      log,
    );
  } finally {
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  }
}
