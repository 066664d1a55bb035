// The Notary part of the verify benches: how long concil takes to answer the signed digest of a tag
// (NotaryRepository.lookup of the built @concil/trust) against Debian's notary-server on loopback
// (TLS), and how many requests that costs (counted from notary-server's log):
//   cold: a fresh trust directory and connection (root, timestamp, snapshot, targets)
//   warm: metadata cached and the connection kept alive (goal: ≤ 2 round trips, ≤ 50 ms)
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNotary } from '@concil/testkit';
import { median } from './measure.mjs';

export async function measureNotaryLookup(runs) {
  const { NotaryRepository } = await import(
    new URL('../../packages/trust/dist/index.js', import.meta.url).href
  );
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
      const repository = new NotaryRepository(gun, {
        serverUrl: notary.url,
        caFile: notary.caPath,
        trustDir,
      });
      cold.push(await timed(repository));
      await repository.http.close();
    }
    const trustDir = await mkdtemp(join(work, 'warm-'));
    const repository = new NotaryRepository(gun, { serverUrl: notary.url, caFile: notary.caPath, trustDir });
    await repository.lookup('latest');
    const warm = [];
    for (let run = 0; run < runs; run++) warm.push(await timed(repository));
    await repository.http.close();
    const summary = (results) => ({
      ms: median(results.map((r) => r.ms)),
      slowestMs: Math.max(...results.map((r) => r.ms)),
      requests: Math.max(...results.map((r) => r.requests)),
    });
    return { cold: summary(cold), warm: summary(warm) };
  } finally {
    await notary.stop();
    await rm(work, { recursive: true, force: true });
  }
}
