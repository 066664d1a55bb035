import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeDigest, layerKindOf } from '@concil/oci-spec';
import { openRegistryTarget } from '@concil/registry-client';
import { buildFixtureLayout, type FixtureLayout, startRegistry, type TestRegistry } from '@concil/testkit';
import { verifyImage } from '@concil/trust';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEncryptionKey } from './encryption/encryption-keys.js';
import { OciLayout } from './oci-layout.js';
import { publish } from './publish.js';
import { readImage } from './read-image.js';
import { writeKeyPair } from './testing/encryption-keys.js';
import { run } from './testing/fixture-image.js';

let registry: TestRegistry;
let work: string;
let single: FixtureLayout;
let multi: FixtureLayout;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-publish-'));
  registry = await startRegistry();
  single = await buildFixtureLayout(join(work, 'single'));
  multi = await buildFixtureLayout(join(work, 'multi'), { platforms: ['linux/amd64', 'linux/arm64'] });
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

/** The manifest skopeo reads back from the registry, as its exact bytes. */
async function skopeoRaw(reference: string): Promise<Buffer> {
  const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', reference], {
    encoding: 'buffer',
  });
  return stdout;
}

describe('publish', () => {
  it('uploads an image and tags it: skopeo reads back the same manifest digest', async () => {
    const dst = openRegistryTarget(`docker://${registry.host}/publish/single:1`);
    const result = await publish(new OciLayout(single.dir, single.tag), dst);
    expect(result.descriptor.digest).toBe(single.root.digest);
    expect(result.blobsCopied).toBe(3);
    expect(computeDigest(await skopeoRaw(`docker://${registry.host}/publish/single:1`))).toBe(
      single.root.digest,
    );
    await dst.client.close();
  });

  it('publishes a whole index by default, and mounts what another repository of the registry has', async () => {
    const first = openRegistryTarget(`docker://${registry.host}/publish/multi:1`);
    await publish(new OciLayout(multi.dir, multi.tag), first);
    expect(computeDigest(await skopeoRaw(`docker://${registry.host}/publish/multi:1`))).toBe(
      multi.root.digest,
    );
    const second = openRegistryTarget(`docker://${registry.host}/publish/again:1`);
    const result = await publish(first, second);
    expect(result.descriptor.digest).toBe(multi.root.digest);
    // the shared base layer once, a top layer and a config per platform: nothing uploaded
    expect(result).toMatchObject({ blobsMounted: 5, blobsCopied: 0, blobsSkipped: 0 });
    await first.client.close();
    await second.client.close();
  });

  it('signs the published root with a cosign key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const dst = openRegistryTarget(`docker://${registry.host}/publish/signed:1`);
    const result = await publish(new OciLayout(multi.dir, multi.tag), dst, { sign: { key: privateKey } });
    expect(result.signature?.signatureCount).toBe(1);
    const verification = await verifyImage(dst, result.descriptor, {
      keys: [{ name: 'test', key: publicKey }],
    });
    expect(verification).toMatchObject({ manifestDigest: multi.root.digest, verified: true });
    await dst.client.close();
  });

  it('encrypts every layer on the way up with --encryption', async () => {
    const keys = await writeKeyPair(work, 'ec', { curve: 'P-256' });
    const dst = openRegistryTarget(`docker://${registry.host}/publish/encrypted:1`);
    const result = await publish(new OciLayout(single.dir, single.tag), dst, {
      encryption: [await readEncryptionKey(keys.pub)],
    });
    expect(result.descriptor.digest).not.toBe(single.root.digest);
    const { manifest } = await readImage(dst);
    expect(manifest.layers.map((layer) => layerKindOf(layer.mediaType)?.encrypted)).toEqual([true, true]);
    await dst.client.close();
  });

  it('refuses a destination that is no registry, before anything is read', async () => {
    const error = await publish(
      new OciLayout(single.dir, single.tag),
      new OciLayout(join(work, 'x'), 'v1'),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TARGET_INVALID', subject: `oci:${join(work, 'x')}:v1` });
  });
});
