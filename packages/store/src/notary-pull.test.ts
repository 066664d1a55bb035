import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startNotary, type TestNotary } from '@concil/testkit';
import { NotaryVerifier } from '@concil/trust';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreError } from './errors.js';
import { type BuiltImage, buildImage, pushImage, randomFile } from './testing/fixtures.js';
import { configOf, useHarness } from './testing/harness.js';

const h = useHarness();
let notary: TestNotary;
let signed: BuiltImage;
let unsigned: BuiltImage;
let gun: string;

beforeAll(async () => {
  notary = await startNotary();
  signed = buildImage([{ files: [randomFile('signed.bin', 2000)] }]);
  unsigned = buildImage([{ files: [randomFile('unsigned.bin', 2000)] }]);
  await pushImage(h.registry.url, 'team/signed', 'signed-copy', signed);
  // The tag on the registry points at an image nobody signed; notary signs the other one for it.
  await pushImage(h.registry.url, 'team/signed', '1.0', unsigned);
  gun = `${h.proxy.host}/team/signed`;
  const manifestFile = join(h.dir, 'signed-manifest.json');
  await writeFile(manifestFile, signed.manifest);
  const { trustDir } = await notary.client(['init', gun]);
  await notary.client(['add', gun, '1.0', manifestFile], { trustDir });
  await notary.client(['publish', gun], { trustDir });
}, 60_000);
afterAll(async () => {
  await notary?.stop();
});

/** Requests notary-server has answered so far (its log has a line for each). */
async function notaryRequests(): Promise<number> {
  const log = await readFile(notary.serverLogPath, 'utf8');
  return log.split('\n').filter((line) => line.includes('"response completed"')).length;
}

function notaryConfig(extra: Record<string, unknown> = {}) {
  return {
    content_trust: 'notary',
    cafile: notary.caPath,
    remote_servers: { [h.proxy.host]: { notary: notary.url } },
    ...extra,
  };
}

async function notaryStore(now?: () => number, extra: Record<string, unknown> = {}) {
  const config = notaryConfig(extra);
  const cacheDir = join(h.dir, `notary-${Math.random().toString(36).slice(2)}`);
  const verifier = NotaryVerifier.fromConfig(configOf(cacheDir, config), now ? { now } : {});
  return { store: await h.store(config, { trustVerifier: verifier }), verifier };
}

describe('pull with content_trust "notary" against notary-server', () => {
  it('pulls the digest notary signs for the tag, asking the registry by digest and never by tag', async () => {
    const { store, verifier } = await notaryStore();
    h.proxy.requests.length = 0;
    const notaryBefore = await notaryRequests();
    const pulled = await store.pull(`docker://${gun}:1.0`);
    // root, timestamp, snapshot, targets: once, though the verifier resolves the tag and then verifies.
    expect((await notaryRequests()) - notaryBefore).toBe(4);
    expect(pulled.manifestDescriptor.digest).toBe(signed.manifestDescriptor.digest);
    expect(pulled.layers.map((layer) => layer.descriptor.digest)).toEqual(
      signed.layers.map((layer) => layer.descriptor.digest),
    );
    const manifestRequests = h.proxy.requests.filter((r) => r.url.includes('/manifests/'));
    expect(manifestRequests.length).toBeGreaterThan(0);
    expect(
      manifestRequests.every((r) => r.url.endsWith(`/manifests/${signed.manifestDescriptor.digest}`)),
    ).toBe(true);
    await verifier.close();
  });

  it('refuses expired trust data, naming the reference and why, and keeps nothing', async () => {
    const fifteenDays = 15 * 24 * 3600 * 1000; // notary-server's timestamps last 14 days
    const { store, verifier } = await notaryStore(() => Date.now() + fifteenDays);
    h.proxy.requests.length = 0;
    const error = (await store.pull(`docker://${gun}:1.0`).catch((e: unknown) => e)) as StoreError;
    expect(error.code).toBe('TRUST_FAILED');
    expect(error.message).toMatch(
      new RegExp(
        `^${gun}:1\\.0 is not trusted: timestamp\\.json of ${gun} \\(https://127\\.0\\.0\\.1:\\d+\\) expired at `,
      ),
    );
    expect(h.proxy.requests).toEqual([]);
    expect(await store.list()).toEqual([]);
    await verifier.close();
  });

  it('refuses a digest that notary signs for no tag, naming the digest, and keeps nothing', async () => {
    const { store, verifier } = await notaryStore();
    h.proxy.requests.length = 0;
    const reference = `docker://${gun}@${unsigned.manifestDescriptor.digest}`;
    const error = (await store.pull(reference).catch((e: unknown) => e)) as StoreError;
    expect(error.code).toBe('TRUST_FAILED');
    expect(error.message).toBe(
      `${gun}@${unsigned.manifestDescriptor.digest} (${unsigned.manifestDescriptor.digest}) is not trusted: ${gun}@${unsigned.manifestDescriptor.digest}: ${unsigned.manifestDescriptor.digest} is not among the targets signed for ${gun} (1.0 → ${signed.manifestDescriptor.digest})`,
    );
    expect(h.proxy.requests.some((r) => r.url.includes('/blobs/'))).toBe(false);
    expect(await store.list()).toEqual([]);
    await verifier.close();
  });

  it('refuses a root signed by a key that trust_pinning does not name, before asking the registry', async () => {
    const pinned = 'b'.repeat(64);
    // The Python concil's name of notary_trust_pinning.
    const { store, verifier } = await notaryStore(undefined, {
      trust_pinning: { certs: { [gun]: [pinned] } },
    });
    h.proxy.requests.length = 0;
    const error = (await store.pull(`docker://${gun}:1.0`).catch((e: unknown) => e)) as StoreError;
    expect(error.code).toBe('TRUST_FAILED');
    expect(error.message).toMatch(
      new RegExp(
        `^${gun}:1\\.0 is not trusted: root\\.json of ${gun} \\(https://127\\.0\\.0\\.1:\\d+\\) is signed by root key\\(s\\) [0-9a-f]{64}, which the certificate IDs pinned for it \\(${pinned}\\) do not vouch for`,
      ),
    );
    expect(h.proxy.requests).toEqual([]);
    expect(await store.list()).toEqual([]);
    await verifier.close();
  });

  it('refuses a tag notary does not sign', async () => {
    const { store, verifier } = await notaryStore();
    const error = (await store.pull(`docker://${gun}:signed-copy`).catch((e: unknown) => e)) as StoreError;
    expect(error.code).toBe('TRUST_FAILED');
    expect(error.message).toContain(
      `${gun}:signed-copy is not trusted: "signed-copy" is not signed in the trust data of ${gun}`,
    );
    expect(await store.list()).toEqual([]);
    await verifier.close();
  });
});
