#!/usr/bin/env node
// pnpm bench:verify — the time to verify an image's cosign signature on a warm connection, and the
// requests it makes to the registry beyond the manifest (counted by the testkit's proxy between
// the built @concil/trust and a loopback docker-registry):
//   classic   the sha256-<hex>.sig tag's manifest (one GET by tag) and its payload   (goal ≤ 2, ≤ 50 ms)
//   bundle    the referrers (tag schema: docker-registry 2.8 has no referrers API), the referrer's
//             manifest, the bundle                                                   (goal ≤ 2, ≤ 50 ms)
//   policy    what `concil pull` asks (TrustPolicy with cosign): both forms looked up at once
// Medians (and the slowest) of --runs N (50) after 5 warm-up runs; --json FILE.
// (Notary's tags are to be added here by its verifier.)
import { writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, printTable } from './lib/measure.mjs';

const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const built = (pkg) => import(join(repoRoot, 'packages', pkg, 'dist', 'index.js'));

await main();

async function main() {
  const { values: options } = parseArgs({
    args: process.argv.slice(2),
    options: { runs: { type: 'string', default: '50' }, json: { type: 'string' } },
  });
  const runs = Number.parseInt(options.runs, 10);
  const [trust, { openRegistryTarget }, { computeDigest, MediaType }, { startFaultProxy, startRegistry }] =
    await Promise.all([
      built('trust'),
      built('registry-client'),
      built('oci-spec'),
      import('@concil/testkit'),
    ]);

  const registry = await startRegistry();
  const proxy = await startFaultProxy(registry.url);
  try {
    const pair = await trust.generateCosignKeyPair('bench');
    const key = await trust.readPrivateKey(pair.privateKeyPem, { password: 'bench' }, 'bench.key');
    const keys = [{ name: 'bench', key: trust.readPublicKey(pair.publicKeyPem, 'bench.pub') }];

    // Two images, signed one way each, pushed and signed directly (not through the proxy).
    const push = async (target, mediaType, bytes) => {
      const desc = { mediaType, digest: computeDigest(bytes), size: bytes.length };
      await target.push(desc, Readable.from([bytes]));
      return desc;
    };
    const image = async (repository) => {
      const target = openRegistryTarget(`docker://${registry.host}/${repository}:1`);
      const layer = await push(target, MediaType.ociLayerTar, Buffer.from(repository));
      const configBytes = Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          rootfs: { type: 'layers', diff_ids: [layer.digest] },
        }),
      );
      const config = await push(target, MediaType.ociConfig, configBytes);
      const manifestBytes = Buffer.from(
        JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer] }),
      );
      const manifest = await push(target, MediaType.ociManifest, manifestBytes);
      await target.tag(manifest, '1');
      return { target, manifest };
    };
    // One signature each, naming the repository as verified: through the proxy's address.
    const classic = await image('bench/classic');
    await trust.signImage(classic.target, classic.manifest, { key, identity: `${proxy.host}/bench/classic` });
    const bundled = await image('bench/bundle');
    await trust.signImageBundle(bundled.target, bundled.manifest, {
      key,
      identity: `${proxy.host}/bench/bundle`,
    });

    const policy = new trust.TrustPolicy(
      { disable_content_trust: false, content_trust: 'cosign' },
      { cosign: () => trust.cosignTrustMethod(keys) },
    );
    const cases = [
      {
        name: 'classic (.sig tag)',
        repository: 'bench/classic',
        verify: (target, manifest) => trust.verifyImage(target, manifest, { keys, bundles: false }),
      },
      {
        name: 'bundle (referrer)',
        repository: 'bench/bundle',
        verify: (target, manifest) =>
          trust.verifyBundles(
            target,
            manifest,
            { manifestDigest: manifest.digest, identity: `${proxy.host}/bench/bundle` },
            keys,
          ),
      },
      {
        name: 'policy, classic-signed',
        repository: 'bench/classic',
        verify: (target, manifest) => policy.verify(target.name, target, manifest),
      },
      {
        name: 'policy, bundle-signed',
        repository: 'bench/bundle',
        verify: (target, manifest) => policy.verify(target.name, target, manifest),
      },
    ];

    const rows = [['verify', 'median', 'slowest', 'requests beyond the manifest', 'goal']];
    // (The paths of each case's last run are listed below the table.)
    const results = [];
    for (const each of cases) {
      // One client per case, its connection and the registry's answers warm before timing.
      const target = openRegistryTarget(`docker://${proxy.host}/${each.repository}:1`);
      const manifest = await target.resolve();
      const check = async () => {
        const outcome = await each.verify(target, manifest);
        const verdicts = Array.isArray(outcome) ? outcome : (outcome?.signatures ?? [outcome]);
        if (!verdicts.some((v) => v?.valid !== false)) throw new Error(`${each.name}: does not verify`);
      };
      for (let i = 0; i < 5; i += 1) await check();
      const times = [];
      const requests = [];
      for (let i = 0; i < runs; i += 1) {
        proxy.requests.length = 0;
        const started = performance.now();
        await check();
        times.push(performance.now() - started);
        requests.push(proxy.requests.length);
      }
      const paths = proxy.requests.map(
        (r) => `${r.method} ${r.url.replace(/sha256[:-][0-9a-f]{64}/g, (d) => `${d.slice(0, 13)}…`)}`,
      );
      const result = {
        name: each.name,
        medianMs: median(times),
        slowestMs: Math.max(...times),
        requests: Math.max(...requests),
        paths,
      };
      results.push(result);
      rows.push([
        each.name,
        `${result.medianMs.toFixed(1)} ms`,
        `${result.slowestMs.toFixed(1)} ms`,
        String(result.requests),
        each.name.startsWith('policy') ? '' : '≤ 2, ≤ 50 ms',
      ]);
    }
    console.log(
      `verify on a warm connection, ${runs} runs each, docker-registry on loopback through a counting proxy ` +
        `(load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores)\n`,
    );
    printTable(rows);
    console.log('');
    for (const result of results) console.log(`${result.name}: ${result.paths.join(', ')}`);
    if (options.json) await writeFile(options.json, `${JSON.stringify({ runs, results }, null, 2)}\n`);
  } finally {
    await proxy.stop();
    await registry.stop();
  }
}
