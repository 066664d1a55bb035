#!/usr/bin/env node
// pnpm bench:copy-edit — `concil copy` with edits of the large bench image (an OCI layout of
// ~1 GB of gzip layers) against the tools one would use instead, side by side in one run:
//   concil copy oci: oci:                      vs  skopeo copy oci: oci:                 (goal ≤ 0.7×)
//   concil copy --squashfs oci: oci:           vs  skopeo copy oci: dir:, then tar2sqfs of each layer
//                                                                                        (goal ≤ 0.8×)
//   concil copy --tar --merge-layers %1..%N    vs  umoci unpack, then tar of the tree      (goal ≤ 0.7×)
//   (one uncompressed tar out of all the layers on both sides)
// and concil's peak RSS (goal ≤ 300 MB). Medians of --runs N (3); --scale 0.05 for a quick try
// with a 20× smaller image; --json FILE; --work-dir DIR (the system's temporary directory by
// default). Each concil run is the built CLI in a fresh process.
import { mkdir, rm } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { CLI_NODE_FLAGS, cliPath } from './lib/cli.mjs';

const rootless = process.getuid?.() === 0 ? [] : ['--rootless'];

await main();

async function main() {
  const { loadBenchImage, parseBenchOptions, writeBenchRecord } = await import('./lib/bench-setup.mjs');
  const { formatBytes, formatKiB, formatRatio, formatSeconds, measure, median, printTable, settle } =
    await import('./lib/measure.mjs');
  const { options, runs } = parseBenchOptions();
  const log = (line) => console.log(line);
  const image = await loadBenchImage({ scale: options.scale, log });
  const blobBytes = image.blobs.reduce((sum, b) => sum + b.size, 0);
  const layers = image.layers.length;
  const work = join(options['work-dir'], `concil-bench-copy-edit-${process.pid}`);
  await mkdir(work, { recursive: true });
  const source = `oci:${image.dir}:${image.tag}`;

  const concil = (args) =>
    measure(process.execPath, [...CLI_NODE_FLAGS, cliPath, 'copy', '-q', ...args], {
      env: { ...process.env, CONCIL_CONFIG: join(work, 'config.json') },
    });
  const sequence = async (steps) => {
    let seconds = 0;
    let peakRssKiB = 0;
    for (const [command, args] of steps) {
      const result = await measure(command, args);
      seconds += result.seconds;
      peakRssKiB = Math.max(peakRssKiB, result.peakRssKiB);
    }
    return { seconds, peakRssKiB };
  };
  const tasks = {
    copy: (out) => concil([source, `oci:${out}:latest`]),
    skopeo: (out) => measure('skopeo', ['copy', '--quiet', source, `oci:${out}:latest`]),
    squashfs: (out) => concil(['--squashfs', source, `oci:${out}:latest`]),
    skopeoTar2sqfs: (out) =>
      sequence([
        ['skopeo', ['copy', '--quiet', source, `dir:${out}`]],
        ...image.layers.map((layer) => {
          const hex = layer.digest.slice('sha256:'.length);
          const convert = `gzip -dc "${join(out, hex)}" | tar2sqfs -q -f -c zstd -X level=10 "${join(out, `${hex}.sqfs`)}"`;
          return ['sh', ['-c', convert]];
        }),
      ]),
    merge: (out) => concil(['--tar', '--merge-layers', `%1..%${layers}`, source, `oci:${out}:latest`]),
    umociTar: (out) =>
      sequence([
        ['umoci', ['unpack', ...rootless, '--image', `${image.dir}:${image.tag}`, join(out, 'bundle')]],
        ['tar', ['-C', join(out, 'bundle', 'rootfs'), '-cf', join(out, 'rootfs.tar'), '.']],
      ]),
  };
  const times = Object.fromEntries(Object.keys(tasks).map((name) => [name, []]));
  const rss = Object.fromEntries(Object.keys(tasks).map((name) => [name, []]));
  try {
    // Warm-up, untimed: the layout's files in the page cache for everyone.
    await tasks.skopeo(join(work, 'warmup'));
    await rm(join(work, 'warmup'), { recursive: true, force: true });
    const pairs = [
      ['copy', 'skopeo'],
      ['squashfs', 'skopeoTar2sqfs'],
      ['merge', 'umociTar'],
    ];
    for (let run = 1; run <= runs; run++) {
      for (const pair of pairs) {
        // Each pair runs in the other order on every other run: whichever runs right after a
        // gigabyte of writes pays for some of them, and neither side should always be that one.
        for (const name of run % 2 ? pair : [...pair].reverse()) {
          const out = join(work, `${name}-${run}`);
          await settle();
          const { seconds, peakRssKiB } = await tasks[name](out);
          times[name].push(seconds);
          rss[name].push(peakRssKiB);
          log(
            `run ${run}  ${name.padEnd(15)} ${formatSeconds(seconds).padStart(9)}  ${formatKiB(peakRssKiB)}`,
          );
          await rm(out, { recursive: true, force: true });
        }
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const m = Object.fromEntries(Object.entries(times).map(([name, values]) => [name, median(values)]));
  const peak = Math.max(...rss.copy, ...rss.squashfs, ...rss.merge);
  log(
    `\nload average ${loadavg()
      .map((v) => v.toFixed(1))
      .join(' ')} on ${availableParallelism()} CPUs`,
  );
  log(`copy with edits of ${formatBytes(blobBytes)} of blobs (oci: layout), median of ${runs}:\n`);
  printTable([
    ['what', 'concil', 'reference', 'ratio', 'goal'],
    [
      'copy',
      formatSeconds(m.copy),
      `${formatSeconds(m.skopeo)} skopeo copy`,
      formatRatio(m.copy, m.skopeo),
      '≤ 0.7×',
    ],
    [
      'copy --squashfs',
      formatSeconds(m.squashfs),
      `${formatSeconds(m.skopeoTar2sqfs)} skopeo + tar2sqfs`,
      formatRatio(m.squashfs, m.skopeoTar2sqfs),
      '≤ 0.8×',
    ],
    [
      `copy --tar --merge-layers %1..%${layers}`,
      formatSeconds(m.merge),
      `${formatSeconds(m.umociTar)} umoci unpack + tar`,
      formatRatio(m.merge, m.umociTar),
      '≤ 0.7×',
    ],
    ['peak RSS of concil', formatKiB(peak), '', '', '≤ 300 MB'],
  ]);
  await writeBenchRecord(
    'copy-edit',
    options,
    {
      image: { spec: image.spec, blobBytes, uncompressedBytes: image.uncompressedBytes },
      runs,
      times,
      peakRssKiB: rss,
      medians: m,
      ratios: {
        copy: m.copy / m.skopeo,
        squashfs: m.squashfs / m.skopeoTar2sqfs,
        merge: m.merge / m.umociTar,
      },
    },
    log,
  );
}
