#!/usr/bin/env node
// pnpm bench:copy — `concil copy` against `skopeo copy` and the ceiling (every blob fetched by
// curl in parallel, hashed by openssl) pulling a ~1 GB image from a loopback docker-registry
// into a directory. Options: --runs N (3), --tools concil,skopeo,ceiling (and node: every blob
// by fetch in one Node process, the floor of a Node program), --json FILE,
// --scale 0.05 (a 20× smaller image for a quick try), --concil-args='--concurrency 8' (extra flags
// of concil copy), --work-dir /dev/shm (where the copies go; the system's temporary directory by default).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadBenchImage, parseBenchOptions, writeBenchRecord } from './lib/bench-setup.mjs';
import { CLI_NODE_FLAGS, cliPath } from './lib/cli.mjs';
import { pushImage } from './lib/image.mjs';
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
import { blobUrl, startBenchRegistry } from './lib/registry.mjs';

const _repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const REPOSITORY = 'bench';

const { options, runs } = parseBenchOptions({
  tools: { type: 'string', default: 'concil,skopeo,ceiling' },
  'concil-args': { type: 'string', default: '' },
});
const wanted = options.tools.split(',').map((t) => t.trim());

const log = (line) => console.log(line);

async function main() {
  const image = await loadBenchImage({ scale: options.scale, log });
  const blobBytes = image.blobs.reduce((sum, b) => sum + b.size, 0);

  const registry = await startBenchRegistry();
  const work = await mkdtemp(join(options['work-dir'], 'concil-bench-copy-'));
  try {
    const source = `docker://${registry.host}/${REPOSITORY}:latest`;
    let started = Date.now();
    await pushImage(image.reference, source);
    log(`pushed to ${source} in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const tools = await availableTools(registry, image, source, work);
    if (tools.length === 0) throw new Error(`none of the tools ${wanted.join(', ')} can run here`);
    const results = Object.fromEntries(tools.map((t) => [t.name, { seconds: [], rss: [], errors: [] }]));

    // Warm-up: one untimed ceiling pass, so the registry's files are in the page cache for everyone.
    started = Date.now();
    await runCeiling(registry, image, join(work, 'warmup')).catch(() => {});
    await rm(join(work, 'warmup'), { recursive: true, force: true });
    log(`warm-up pass in ${((Date.now() - started) / 1000).toFixed(1)} s; ${loadText()}\n`);

    for (let run = 1; run <= runs; run++) {
      for (const tool of tools) {
        const dest = join(work, `${tool.name}-${run}`);
        try {
          await settle();
          const { seconds, peakRssKiB } = await tool.run(dest);
          await tool.verify?.(dest);
          results[tool.name].seconds.push(seconds);
          results[tool.name].rss.push(peakRssKiB);
          log(
            `run ${run}  ${tool.name.padEnd(8)} ${formatSeconds(seconds).padStart(9)}  peak RSS ${formatKiB(peakRssKiB)}`,
          );
        } catch (error) {
          results[tool.name].errors.push(error.message);
          log(`run ${run}  ${tool.name.padEnd(8)} FAILED: ${error.message.split('\n')[0].slice(0, 400)}`);
        } finally {
          await rm(dest, { recursive: true, force: true });
        }
      }
    }

    const summary = {};
    for (const tool of tools) {
      const r = results[tool.name];
      summary[tool.name] = {
        medianSeconds: median(r.seconds),
        medianPeakRssKiB: median(r.rss),
        maxPeakRssKiB: r.rss.length ? Math.max(...r.rss) : Number.NaN,
        runs: r.seconds,
        errors: r.errors,
      };
    }
    log('');
    log(
      `copy of ${formatBytes(blobBytes)} of blobs from a loopback registry to a directory, median of ${runs}:`,
    );
    log('');
    printTable([
      ['tool', 'median', 'min', 'max', 'throughput', 'peak RSS (median)'],
      ...tools.map((t) => {
        const r = results[t.name];
        const s = summary[t.name];
        return [
          t.name,
          formatSeconds(s.medianSeconds),
          formatSeconds(Math.min(...r.seconds)),
          formatSeconds(Math.max(...r.seconds)),
          formatThroughput(blobBytes, s.medianSeconds),
          `${formatKiB(s.medianPeakRssKiB)}${t.name === 'ceiling' ? ' (largest process)' : ''}`,
        ];
      }),
    ]);
    const time = (name) => summary[name]?.medianSeconds ?? Number.NaN;
    log('');
    const busy = loadavg()[0] > cpus().length ? ': other work on this machine makes these figures noisy' : '';
    log(`${cpus().length} cores; ${loadText()}${busy}`);
    log('');
    log(`concil/skopeo  ${formatRatio(time('concil'), time('skopeo'))}`);
    log(`concil/ceiling ${formatRatio(time('concil'), time('ceiling'))}`);
    log(`skopeo/ceiling ${formatRatio(time('skopeo'), time('ceiling'))}`);
    if (summary.node) log(`concil/node    ${formatRatio(time('concil'), time('node'))}`);

    const record = { image: { spec: image.spec, blobBytes, manifest: image.manifest.digest }, runs, summary };
    await writeBenchRecord('copy', options, record, log);
    if (tools.some((t) => results[t.name].seconds.length === 0)) process.exitCode = 1;
  } finally {
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  }
}

function loadText() {
  return `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`;
}

/** The contenders that can run here, each with `run(dest)` → `{ seconds, peakRssKiB }` and `verify(dest)`. */
async function availableTools(registry, image, source, work) {
  const tools = [];
  for (const name of wanted) {
    if (name === 'concil') {
      if (!existsSync(cliPath)) {
        log(`concil: skipped, ${cliPath} is not built (pnpm build)`);
        continue;
      }
      try {
        const { stdout } = await promisify(execFile)(process.execPath, [cliPath, 'copy', '--help']);
        if (!/copy/.test(stdout)) throw new Error('no copy command');
      } catch {
        log('concil: skipped, this CLI has no copy command');
        continue;
      }
      const extra = options['concil-args'].split(' ').filter(Boolean);
      tools.push({
        name,
        run: (dest) =>
          measure(process.execPath, [...CLI_NODE_FLAGS, cliPath, 'copy', ...extra, source, `dir:${dest}`]),
        verify: (dest) => verifyDirectory(dest, image),
      });
    } else if (name === 'skopeo') {
      tools.push({
        name,
        run: (dest) =>
          measure('skopeo', [
            '--insecure-policy',
            'copy',
            '--quiet',
            '--src-tls-verify=false',
            source,
            `dir:${dest}`,
          ]),
        verify: (dest) => verifyDirectory(dest, image),
      });
    } else if (name === 'node') {
      const script = join(dirname(fileURLToPath(import.meta.url)), 'lib', 'fetch-blobs.mjs');
      const specs = image.blobs.map((b) => `${b.digest}=${blobUrl(registry.url, REPOSITORY, b.digest)}`);
      tools.push({
        name,
        run: (dest) => measure(process.execPath, [script, dest, ...specs]),
        verify: (dest) => verifyDirectory(dest, image),
      });
    } else if (name === 'ceiling') {
      tools.push({ name, run: (dest) => runCeiling(registry, image, dest) });
    } else {
      throw new Error(`unknown tool ${name}: choose from concil, skopeo, node, ceiling`);
    }
  }
  await mkdir(work, { recursive: true });
  return tools;
}

/**
 * The ceiling: every blob at once, each by one `curl | tee FILE | openssl dgst -sha256`
 * pipeline, then every digest checked.
 */
async function runCeiling(registry, image, dest) {
  await mkdir(dest, { recursive: true });
  const lines = ['set -o pipefail', 'pids='];
  for (const blob of image.blobs) {
    const hex = blob.digest.slice('sha256:'.length);
    const url = blobUrl(registry.url, REPOSITORY, blob.digest);
    lines.push(
      `curl -sSf '${url}' | tee '${dest}/${hex}' | openssl dgst -sha256 > '${dest}/${hex}.sha256' &`,
    );
    lines.push('pids="$pids $!"');
  }
  lines.push('status=0', 'for pid in $pids; do wait "$pid" || status=1; done', 'exit $status');
  const script = join(dest, '..', `${dest.split('/').at(-1)}.sh`);
  await writeFile(script, `${lines.join('\n')}\n`);
  try {
    const result = await measure('bash', [script]);
    for (const blob of image.blobs) {
      const hex = blob.digest.slice('sha256:'.length);
      const printed = (await readFile(join(dest, `${hex}.sha256`), 'utf8')).trim().split(/\s+/).at(-1);
      if (printed !== hex) throw new Error(`ceiling: ${blob.digest} hashed to sha256:${printed}`);
    }
    return result;
  } finally {
    await rm(script, { force: true });
  }
}

/** Every blob of the image is a file of the right size somewhere under dest (named by its hex). */
async function verifyDirectory(dest, image) {
  const sizes = new Map();
  const walk = async (dir) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else sizes.set(entry.name.replace(/^sha256[:-]/, ''), (await stat(path)).size);
    }
  };
  await walk(dest);
  for (const blob of image.blobs) {
    const hex = blob.digest.slice('sha256:'.length);
    if (sizes.get(hex) !== blob.size) throw new Error(`${dest} lacks ${blob.digest} (${blob.size} bytes)`);
  }
}

await main();
