// What every bench over the large image starts with: its common options (--runs, --scale,
// --json, --work-dir) and the image itself, generated once and cached under .cache/bench.
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchImageSpec, ensureBenchImage } from './image.mjs';
import { formatBytes } from './measure.mjs';

const repoRoot = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/** The command line's options: the common ones with their defaults, plus a bench's own `extra`. */
export function parseBenchOptions(extra = {}) {
  const { values: options } = parseArgs({
    args: process.argv.slice(2),
    options: {
      runs: { type: 'string', default: '3' },
      scale: { type: 'string', default: '1' },
      json: { type: 'string' },
      'work-dir': { type: 'string', default: tmpdir() },
      ...extra,
    },
  });
  return { options, runs: Number.parseInt(options.runs, 10) };
}

/** The bench image at `scale`, with a line saying what it holds (`image.layerBytes` added). */
export async function loadBenchImage({ scale, log }) {
  const cacheDir = join(repoRoot, '.cache', 'bench');
  await mkdir(cacheDir, { recursive: true });
  const image = await ensureBenchImage({ cacheDir, spec: benchImageSpec(Number(scale)), log });
  const layerBytes = image.layers.reduce((sum, l) => sum + l.size, 0);
  log(
    `image: ${image.layers.length} gzip layers, ${formatBytes(layerBytes)} of layers ` +
      `(${formatBytes(image.uncompressedBytes)} uncompressed), ${image.reference}`,
  );
  return { ...image, layerBytes };
}

/** Writes a bench's figures (with the date and load) as JSON to --json FILE, else .cache/bench/NAME-last.json. */
export async function writeBenchRecord(name, options, record, log) {
  const path = options.json ?? join(repoRoot, '.cache', 'bench', `${name}-last.json`);
  const dated = { date: new Date().toISOString(), loadavg: loadavg(), ...record };
  await writeFile(path, `${JSON.stringify(dated, null, 2)}\n`);
  log(`\nresults written to ${path}`);
}
