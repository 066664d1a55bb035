#!/usr/bin/env node
// pnpm bench:verify-notary — the Notary part of `bench:verify` alone (see lib/notary-lookup.mjs):
// a tag's signed digest from Debian's notary-server on loopback, cold and warm
// (goal warm: ≤ 2 round trips, ≤ 50 ms). Medians of --runs N (20); --json FILE writes the figures.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { printTable } from './lib/measure.mjs';
import { measureNotaryLookup } from './lib/notary-lookup.mjs';

const { values: options } = parseArgs({
  args: process.argv.slice(2),
  options: { runs: { type: 'string', default: '20' }, json: { type: 'string' } },
});
const figures = await measureNotaryLookup(Number.parseInt(options.runs, 10));
printTable([
  ['notary lookup', 'median ms', 'requests'],
  ['cold (fresh trust dir, new connection)', figures.cold.ms.toFixed(1), String(figures.cold.requests)],
  [
    'warm (cached metadata, kept-alive connection)',
    figures.warm.ms.toFixed(1),
    String(figures.warm.requests),
  ],
]);
if (options.json) await writeFile(options.json, `${JSON.stringify(figures, null, 2)}\n`);
