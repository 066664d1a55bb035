import { join } from 'node:path';
import { type FaultProxy, type FixtureLayout, startFaultProxy } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureRegistry, startFixtureRegistry } from './test/fixture-registry.js';
import { runCli } from './test/run-cli.js';

/** What `list` and `copy` of a registry image by tag ask of the registry: one manifest GET, no HEAD. */

let setup: FixtureRegistry;
let proxy: FaultProxy;
let work: string;
let single: FixtureLayout;
let multi: FixtureLayout;

beforeAll(async () => {
  setup = await startFixtureRegistry();
  ({ work, single, multi } = setup);
  proxy = await startFaultProxy(setup.registry.url);
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await setup?.stop();
});

/** The requests the registry was asked while `run` ran, as `METHOD /path`. */
async function requestsOf(run: () => Promise<unknown>): Promise<string[]> {
  proxy.requests.length = 0;
  await run();
  return proxy.requests.map((r) => `${r.method} ${r.url}`);
}

describe('a registry image named by tag', () => {
  it('concil list: one GET of the manifest by tag, then the config', async () => {
    const image = single.images[0]!;
    let listed: Awaited<ReturnType<typeof runCli>> | undefined;
    const seen = await requestsOf(async () => {
      listed = await runCli(['list', '--json', `docker://${proxy.host}/skopeo/oci:1`]);
    });
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(listed!.stdout).descriptor.digest).toBe(image.manifest.digest);
    expect(seen).toEqual([
      'GET /v2/skopeo/oci/manifests/1',
      `GET /v2/skopeo/oci/blobs/${image.config.digest}`,
    ]);
  });

  it("concil list of an index: the index once, then the platform's manifest by digest", async () => {
    const arm = multi.images[1]!;
    let listed: Awaited<ReturnType<typeof runCli>> | undefined;
    const seen = await requestsOf(async () => {
      listed = await runCli([
        'list',
        '--json',
        '--platform',
        'linux/arm64',
        `docker://${proxy.host}/skopeo/index:1`,
      ]);
    });
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    const shown = JSON.parse(listed!.stdout);
    expect(shown.index.descriptor.digest).toBe(multi.root.digest);
    expect(shown.descriptor.digest).toBe(arm.manifest.digest);
    expect(seen).toEqual([
      'GET /v2/skopeo/index/manifests/1',
      `GET /v2/skopeo/index/manifests/${arm.manifest.digest}`,
      `GET /v2/skopeo/index/blobs/${arm.config.digest}`,
    ]);
  });

  it('concil copy into a directory: one GET of the manifest by tag, then only the blobs', async () => {
    const image = single.images[0]!;
    let copied: Awaited<ReturnType<typeof runCli>> | undefined;
    const seen = await requestsOf(async () => {
      copied = await runCli(['copy', '--json', `docker://${proxy.host}/skopeo/oci:1`, join(work, 'copied')]);
    });
    expect(copied).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(copied!.stdout).descriptor.digest).toBe(image.manifest.digest);
    expect(seen[0]).toBe('GET /v2/skopeo/oci/manifests/1');
    expect(seen.slice(1).sort()).toEqual(
      [image.config, ...image.layers].map((blob) => `GET /v2/skopeo/oci/blobs/${blob.digest}`).sort(),
    );
  });
});
