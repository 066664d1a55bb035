#!/usr/bin/env node
// pnpm bench:verify — the time to verify an image's signature on a warm connection, and the
// requests it makes beyond the manifest (counted by the testkit's proxy between the built
// @concil/trust and a loopback docker-registry, or from notary-server's log), in one table:
//   classic        the sha256-<hex>.sig tag's manifest (one GET by tag) and its payload          (goal ≤ 2, ≤ 50 ms)
//   bundle         concil's (`concil sign --bundle`): the referrer rides in the tag schema index
//                  and the bundle in the referrer (the descriptors' `data`): the index alone      (goal ≤ 2, ≤ 50 ms)
//   bundle, API    concil's, where the registry has the referrers API (the proxy answers it for
//                  docker-registry 2.8, listing the referrer as a registry does: no `data`): the
//                  list, the referrer manifest (the bundle in it)
//   bundle, cosign as cosign writes it (nothing embedded): index, referrer manifest, bundle blob
//   policy         what `concil pull` asks (TrustPolicy with cosign): both forms looked up at once
//   notary         a tag's signed digest from notary-server (TLS), metadata cached (goal ≤ 2, ≤ 50 ms)
// Medians (and the slowest) of --runs N (50) after 5 warm-up runs; --no-notary leaves notary out;
// --json FILE.
import { writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, printTable } from './lib/measure.mjs';
import { measureNotaryLookup } from './lib/notary-lookup.mjs';

const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const built = (pkg) => import(join(repoRoot, 'packages', pkg, 'dist', 'index.js'));

await main();

async function main() {
  const { values: options } = parseArgs({
    args: process.argv.slice(2),
    options: {
      runs: { type: 'string', default: '50' },
      json: { type: 'string' },
      'no-notary': { type: 'boolean', default: false },
    },
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
    const bundled = {};
    for (const repository of ['bench/bundle', 'bench/bundle-api', 'bench/bundle-cosign']) {
      const { target, manifest } = await image(repository);
      const signed = await trust.signImageBundle(target, manifest, {
        key,
        identity: `${proxy.host}/${repository}`,
      });
      bundled[repository] = signed;
    }
    // As cosign writes it: the referrer without the bundle in it, listed without its content.
    await writeAsCosign(
      registry.url,
      'bench/bundle-cosign',
      bundled['bench/bundle-cosign'].referrer,
      computeDigest,
    );
    // The referrers API, answered by the proxy for this repository (docker-registry 2.8 has none).
    proxy.inject({
      kind: 'status',
      status: 200,
      times: 1e9,
      headers: { 'content-type': MediaType.ociIndex },
      body: JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [bundled['bench/bundle-api'].referrer],
      }),
      match: { method: 'GET', path: /^\/v2\/bench\/bundle-api\/referrers\// },
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
      ...[
        ['bundle (concil, tag schema)', 'bench/bundle'],
        ['bundle (concil, referrers API)', 'bench/bundle-api'],
        ['bundle (cosign, tag schema)', 'bench/bundle-cosign'],
      ].map(([name, repository]) => ({
        name,
        repository,
        verify: (target, manifest) =>
          trust.verifyBundles(
            target,
            manifest,
            { manifestDigest: manifest.digest, identity: `${proxy.host}/${repository}` },
            keys,
          ),
      })),
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
    if (!options['no-notary']) {
      const notary = (await measureNotaryLookup(runs)).warm;
      results.push({
        name: 'notary tag (warm)',
        medianMs: notary.ms,
        slowestMs: notary.slowestMs,
        requests: notary.requests,
        paths: ['notary-server: see bench:verify-notary'],
      });
      rows.push([
        'notary tag (cached metadata)',
        `${notary.ms.toFixed(1)} ms`,
        `${notary.slowestMs.toFixed(1)} ms`,
        `${notary.requests} (to notary-server)`,
        '≤ 2, ≤ 50 ms',
      ]);
    }
    console.log(
      `verify on a warm connection, ${runs} runs each, docker-registry on loopback through a counting proxy ` +
        `(load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores)\n`,
    );
    printTable(rows);
    console.log('');
    for (const result of results) console.log(`${result.name}: ${result.paths.join(', ') || '(none)'}`);
    if (options.json) await writeFile(options.json, `${JSON.stringify({ runs, results }, null, 2)}\n`);
  } finally {
    await proxy.stop();
    await registry.stop();
  }
}

/**
 * Rewrites what concil attached as cosign writes it, straight through the registry's HTTP API: the
 * referrer manifest without the bundle in its layer descriptor, and the tag schema index listing it
 * without its content.
 */
async function writeAsCosign(registryUrl, repository, referrer, computeDigest) {
  const url = (reference) => `${registryUrl}/v2/${repository}/manifests/${reference}`;
  const manifest = await (
    await fetch(url(referrer.digest), { headers: { accept: referrer.mediaType } })
  ).json();
  const subject = manifest.subject.digest;
  manifest.layers = manifest.layers.map(({ data: _, ...layer }) => layer);
  const bytes = Buffer.from(JSON.stringify(manifest));
  const plain = { ...referrer, digest: computeDigest(bytes), size: bytes.length };
  delete plain.data;
  const put = async (reference, mediaType, body) => {
    const response = await fetch(url(reference), {
      method: 'PUT',
      headers: { 'content-type': mediaType },
      body,
    });
    if (response.status !== 201) throw new Error(`PUT ${reference}: ${response.status}`);
  };
  await put(plain.digest, referrer.mediaType, bytes);
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [plain],
  };
  await put(`sha256-${subject.slice(7)}`, index.mediaType, Buffer.from(JSON.stringify(index)));
}
