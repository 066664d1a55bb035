import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildFixtureLayout,
  type FaultProxy,
  type FixtureLayout,
  startFaultProxy,
  startRegistry,
  type TestRegistry,
} from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copy } from './copy.js';
import { ImageDirectory } from './image-directory.js';
import { openImage } from './open-image.js';
import { openTarget } from './open-target.js';

/** What reading a registry image by tag asks of the registry: one GET of the manifest, no HEAD. */

let work: string;
let registry: TestRegistry;
let proxy: FaultProxy;
let single: FixtureLayout;
let multi: FixtureLayout;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-registry-requests-'));
  registry = await startRegistry();
  proxy = await startFaultProxy(registry.url);
  single = await buildFixtureLayout(join(work, 'single'));
  multi = await buildFixtureLayout(join(work, 'multi'), { platforms: ['linux/amd64', 'linux/arm64'] });
  await copy(openTarget(`oci:${single.dir}`), openTarget(`docker://${registry.host}/one/app:v1`));
  await copy(openTarget(`oci:${multi.dir}`), openTarget(`docker://${registry.host}/one/multi:v1`), {
    all: true,
  });
}, 60_000);
afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

/** The requests the proxy saw while `run` ran, as `METHOD /path`. */
async function requestsOf(run: () => Promise<unknown>): Promise<string[]> {
  const before = proxy.requests.length;
  await run();
  return proxy.requests.slice(before).map((r) => `${r.method} ${r.url}`);
}

describe('a registry image named by tag', () => {
  it('opens with one GET of the manifest by tag, then its config', async () => {
    const image = single.images[0]!;
    const seen = await requestsOf(() => openImage(`docker://${proxy.host}/one/app:v1`));
    expect(seen).toEqual(['GET /v2/one/app/manifests/v1', `GET /v2/one/app/blobs/${image.config.digest}`]);
  });

  it("opens an index by tag: the index once, then the platform's manifest by digest", async () => {
    const arm = multi.images[1]!;
    let digest: string | undefined;
    const seen = await requestsOf(async () => {
      const image = await openImage(`docker://${proxy.host}/one/multi:v1`, {
        platform: { os: 'linux', architecture: 'arm64' },
      });
      expect(image.index?.descriptor.digest).toBe(multi.root.digest);
      digest = image.descriptor.digest;
    });
    expect(digest).toBe(arm.manifest.digest);
    expect(seen).toEqual([
      'GET /v2/one/multi/manifests/v1',
      `GET /v2/one/multi/manifests/${arm.manifest.digest}`,
      `GET /v2/one/multi/blobs/${arm.config.digest}`,
    ]);
  });

  it('copies with one GET of the manifest by tag, then only its blobs', async () => {
    const image = single.images[0]!;
    const seen = await requestsOf(() =>
      copy(openTarget(`docker://${proxy.host}/one/app:v1`), new ImageDirectory(join(work, 'copied'))),
    );
    expect(seen[0]).toBe('GET /v2/one/app/manifests/v1');
    expect(seen.slice(1).sort()).toEqual(
      [image.config, ...image.layers].map((blob) => `GET /v2/one/app/blobs/${blob.digest}`).sort(),
    );
  });

  it('copies a platform of an index by tag: the index, the manifest by digest, its blobs', async () => {
    const arm = multi.images[1]!;
    const seen = await requestsOf(() =>
      copy(openTarget(`docker://${proxy.host}/one/multi:v1`), new ImageDirectory(join(work, 'arm')), {
        platform: { os: 'linux', architecture: 'arm64' },
      }),
    );
    expect(seen.slice(0, 2)).toEqual([
      'GET /v2/one/multi/manifests/v1',
      `GET /v2/one/multi/manifests/${arm.manifest.digest}`,
    ]);
    expect(seen.slice(2).sort()).toEqual(
      [arm.config, ...arm.layers].map((blob) => `GET /v2/one/multi/blobs/${blob.digest}`).sort(),
    );
  });

  it('gives the registry its own error for a missing tag (MANIFEST_UNKNOWN), from one GET', async () => {
    const reference = `docker://${proxy.host}/one/app:nope`;
    let error: unknown;
    const seen = await requestsOf(() => openImage(reference).catch((e: unknown) => (error = e)));
    expect(error).toMatchObject({
      code: 'MANIFEST_UNKNOWN',
      message: `${reference}: tag not found (MANIFEST_UNKNOWN); check the tag with \`concil tags\``,
    });
    expect(seen).toEqual(['GET /v2/one/app/manifests/nope']);
  });
});
