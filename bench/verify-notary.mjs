#!/usr/bin/env node
// pnpm bench:verify-notary — the Notary part of `bench:verify`: how long concil takes to answer the
// signed digest of a tag (NotaryRepository.lookup of the built @concil/trust), against Debian's
// notary-server on loopback (TLS), and how many requests that costs:
//   cold: a fresh trust directory and connection (root, timestamp, snapshot, targets)
//   warm: metadata cached and the connection kept alive (goal: ≤ 2 round trips, ≤ 50 ms)
// Medians of --runs N (20); --json FILE writes the figures.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startNotary } from '@concil/testkit';
import { median, printTable } from './lib/measure.mjs';

const { NotaryRepository } = await import(new URL('../packages/trust/dist/index.js', import.meta.url).href);
const { values: options } = parseArgs({
  args: process.argv.slice(2),
  options: { runs: { type: 'string', default: '20' }, json: { type: 'string' } },
});
const runs = Number.parseInt(options.runs, 10);

const notary = await startNotary();
const work = await mkdtemp(join(tmpdir(), 'concil-bench-notary-'));
try {
  const gun = '127.0.0.1:5000/bench/app';
  await writeFile(join(work, 'manifest.json'), '{"schemaVersion":2}');
  const { trustDir: publisher } = await notary.client(['init', gun]);
  await notary.client(['add', gun, 'latest', join(work, 'manifest.json')], { trustDir: publisher });
  await notary.client(['publish', gun], { trustDir: publisher });

  /** Requests notary-server has answered so far (its log has a line for each). */
  const answered = async () =>
    (await readFile(notary.serverLogPath, 'utf8'))
      .split('\n')
      .filter((line) => line.includes('"response completed"')).length;
  const timed = async (repository) => {
    const before = await answered();
    const started = process.hrtime.bigint();
    await repository.lookup('latest');
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    return { ms, requests: (await answered()) - before };
  };

  const cold = [];
  for (let run = 0; run < Math.min(runs, 5); run++) {
    const trustDir = await mkdtemp(join(work, 'cold-'));
    const repository = new NotaryRepository(gun, { serverUrl: notary.url, caFile: notary.caPath, trustDir });
    cold.push(await timed(repository));
    await repository.http.close();
  }
  const trustDir = await mkdtemp(join(work, 'warm-'));
  const repository = new NotaryRepository(gun, { serverUrl: notary.url, caFile: notary.caPath, trustDir });
  await repository.lookup('latest');
  const warm = [];
  for (let run = 0; run < runs; run++) warm.push(await timed(repository));
  await repository.http.close();

  const figures = {
    cold: { ms: median(cold.map((r) => r.ms)), requests: median(cold.map((r) => r.requests)) },
    warm: { ms: median(warm.map((r) => r.ms)), requests: median(warm.map((r) => r.requests)) },
  };
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
} finally {
  await notary.stop();
  await rm(work, { recursive: true, force: true });
}
