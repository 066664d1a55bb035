import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { copy, encryptLayers, generateEncryptionKey, readEncryptionKey } from '@concil/image';
import { computeDigest, MediaType } from '@concil/oci-spec';
import { openRegistryTarget } from '@concil/registry-client';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Store } from './store.js';
import {
  type BuiltImage,
  buildImage,
  pushBlob,
  pushImage,
  pushManifest,
  randomFile,
} from './testing/fixtures.js';
import { useHarness } from './testing/harness.js';

const run = promisify(execFile);

const h = useHarness();
let image: BuiltImage;
let team: { privateKey: string; publicKey: string };
let other: { privateKey: string; publicKey: string };
/** Every layer encrypted by concil, and only the base layer encrypted by skopeo. */
let byConcil: string;
let bySkopeo: string;

beforeAll(async () => {
  image = buildImage([
    { files: [randomFile('etc/base.bin', 300_000), randomFile('etc/hosts', 20)] },
    { files: [randomFile('app/run.bin', 200_000)], compression: 'none' },
    {
      files: [{ name: 'srv/zstd.txt', content: Buffer.from('zstd layer\n'.repeat(5000)) }],
      compression: 'zstd',
    },
  ]);
  await pushImage(h.registry.url, 'team/plain', '1', image);
  const keys = join(h.dir, 'keys');
  team = await generateEncryptionKey(keys, 'team');
  other = await generateEncryptionKey(keys, 'other');
  const plain = `docker://${h.registry.host}/team/plain:1`;
  await copy(openRegistryTarget(plain), openRegistryTarget(`docker://${h.registry.host}/team/enc:1`), {
    edit: encryptLayers([await readEncryptionKey(team.publicKey)]),
  });
  byConcil = `docker://${h.proxy.host}/team/enc:1`;
  await run('skopeo', [
    'copy',
    '--src-tls-verify=false',
    '--dest-tls-verify=false',
    '--encryption-key',
    `jwe:${team.publicKey}`,
    '--encrypt-layer',
    '0',
    plain,
    `docker://${h.registry.host}/team/skopeo-enc:1`,
  ]);
  bySkopeo = `docker://${h.proxy.host}/team/skopeo-enc:1`;
}, 120_000);

/** Every file in the cache, relative to it. */
async function cacheFiles(store: Store): Promise<string[]> {
  const root = store.layout.root;
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort();
}

function blobFile(digest: string): string {
  return join('blobs', ...digest.split(':'));
}

/** The digests of an image's layers, as the registry holds them. */
async function layerDigests(reference: string): Promise<string[]> {
  const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', reference]);
  return (JSON.parse(stdout) as { layers: { digest: string }[] }).layers.map((l) => l.digest);
}

async function listed(squashfs: string): Promise<string> {
  return (await run('unsquashfs', ['-lln', squashfs])).stdout;
}

describe('pulling an encrypted image', () => {
  it('with the key the configuration names: only the plaintext squashfs images are cached, no ciphertext', async () => {
    const store = await h.store({ decryption_keys: [team.privateKey] });
    const pulled = await store.pull(byConcil);
    expect(pulled.layers.map((l) => l.descriptor.mediaType)).toEqual([
      `${MediaType.ociLayerGzip}+encrypted`,
      `${MediaType.ociLayerTar}+encrypted`,
      `${MediaType.ociLayerZstd}+encrypted`,
    ]);
    expect(pulled.layers.map((l) => l.diffId)).toEqual(image.layers.map((l) => l.diffId));
    for (const [i, layer] of pulled.layers.entries()) {
      expect(layer.path).toBeUndefined();
      const names = await listed(layer.squashfsPath!);
      for (const name of image.layers[i]!.names) expect(names).toContain(`squashfs-root/${name}`);
    }
    // The manifest and the config as blobs, each layer as its squashfs image and record: nothing else.
    const encrypted = pulled.layers.map((l) => l.descriptor.digest);
    const blobs = (await cacheFiles(store)).filter((file) => file.startsWith('blobs/'));
    expect(blobs.sort()).toEqual(
      [pulled.manifestDescriptor.digest, pulled.configDescriptor.digest].map(blobFile).sort(),
    );
    const squashfs = (await cacheFiles(store)).filter((file) => file.startsWith('squashfs/'));
    expect(squashfs).toHaveLength(3);
    for (const digest of [...encrypted, ...image.layers.map((l) => l.descriptor.digest)]) {
      expect(await cacheFiles(store)).not.toContain(blobFile(digest));
    }

    // A copy from the cache would need the layer blobs, which are not there: it goes to the registry.
    expect(await store.cachedTarget(byConcil)).toBeUndefined();
    const again = await store.pull(byConcil, { offline: true });
    expect(again.layers.map((l) => l.squashfsPath)).toEqual(pulled.layers.map((l) => l.squashfsPath));
    expect((await store.verify()).problems).toEqual([]);
    await store.gc({ graceSeconds: 0 });
    expect((await store.pull(byConcil, { offline: true })).layers.map((l) => l.squashfsPath)).toEqual(
      pulled.layers.map((l) => l.squashfsPath),
    );
  });

  it('encrypted by skopeo, with a key given to the pull: the encrypted layer as squashfs, the others as they came', async () => {
    const store = await h.store();
    const pulled = await store.pull(bySkopeo, { decryptionKeys: [team.privateKey] });
    const [base, ...rest] = pulled.layers;
    expect(base!.descriptor.mediaType).toBe(`${MediaType.ociLayerGzip}+encrypted`);
    expect(base!.path).toBeUndefined();
    expect(await listed(base!.squashfsPath!)).toContain('squashfs-root/etc/base.bin');
    expect(await cacheFiles(store)).not.toContain(blobFile(base!.descriptor.digest));
    // Not asked for squashfs: the plain layers are kept as fetched, without a conversion.
    expect(rest.map((l) => l.descriptor.digest)).toEqual((await layerDigests(bySkopeo)).slice(1));
    for (const layer of rest) {
      expect(layer.path).toBe(store.layout.blobPath(layer.descriptor.digest));
      expect(layer.squashfsPath).toBeUndefined();
    }

    const converted = await store.pull(bySkopeo, { squashfs: true });
    expect(converted.fromCache).toBe(true);
    expect(converted.layers.map((l) => Boolean(l.squashfsPath))).toEqual([true, true, true]);
    expect(converted.layers[0]!.squashfsPath).toBe(base!.squashfsPath);
  });

  it('with a key that opens no layer: an error naming the layer and the key tried, and the cache unchanged', async () => {
    const store = await h.store({ decryption_keys: [other.privateKey] });
    const before = await cacheFiles(store);
    const error = await store.pull(byConcil).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DECRYPTION_FAILED' });
    const message = (error as Error).message;
    expect(message).toContain(`opens layer ${(await layerDigests(byConcil))[0]},`);
    expect(message).toContain(`none of the 1 decryption keys (${other.privateKey}) opens`);
    expect(message).toContain('"decryption_keys"');
    expect(message).toContain('concil pull --decryption-key KEY');
    expect(await cacheFiles(store)).toEqual(before);
  });

  it('with no key: an error saying how to give one, and the cache unchanged', async () => {
    const store = await h.store();
    const before = await cacheFiles(store);
    const error = await store.pull(bySkopeo, { squashfs: true }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DECRYPTION_FAILED' });
    const [layer] = await layerDigests(bySkopeo);
    expect((error as Error).message).toBe(
      `layer ${layer} of ${bySkopeo.slice('docker://'.length)} is encrypted, and no decryption key was given: name its private key in the configuration's "decryption_keys" or give it (concil pull --decryption-key KEY)`,
    );
    expect(await cacheFiles(store)).toEqual(before);
  });

  it('a changed byte in a layer of an image otherwise consistent: the HMAC fails, no squashfs image of it, no image recorded', async () => {
    const repository = `${h.registry.url}/v2/team/enc`;
    const manifest = (await (
      await fetch(`${repository}/manifests/1`, { headers: { accept: MediaType.ociManifest } })
    ).json()) as { layers: { digest: string; size: number }[] };
    const top = manifest.layers[2]!;
    const bytes = Buffer.from(await (await fetch(`${repository}/blobs/${top.digest}`)).arrayBuffer());
    bytes[bytes.length >> 1]! ^= 0x01;
    const digest = computeDigest(bytes);
    await pushBlob(h.registry.url, 'team/enc', bytes, digest);
    manifest.layers[2] = { ...top, digest, size: bytes.length };
    const changed = Buffer.from(JSON.stringify(manifest));
    await pushManifest(h.registry.url, 'team/enc', 'changed', changed, MediaType.ociManifest);
    const reference = `docker://${h.proxy.host}/team/enc:changed`;

    const store = await h.store({ decryption_keys: [team.privateKey] });
    const error = await store.pull(reference).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DECRYPTION_FAILED', subject: digest });
    expect((error as Error).message).toBe(
      `layer ${digest}: its HMAC does not match: the ciphertext was changed or cut short; nothing decrypted was kept`,
    );
    expect(await store.squashfsPath(digest)).toBeUndefined();
    expect(await store.image(reference)).toBeUndefined();
    expect((await cacheFiles(store)).filter((file) => file.startsWith('tmp/'))).toEqual([]);
  });
});
