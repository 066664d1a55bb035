import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { Readable } from 'node:stream';
import { computeDigest, type Descriptor, type FetchOptions, MediaType } from '@concil/oci-spec';
import { openRegistryTarget, type RegistryTarget } from '@concil/registry-client';
import { startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTrustError } from '../errors.js';
import { pushTinyImage } from '../test-helpers/tiny-image.js';
import type { TrustedKey } from './check-signature.js';
import { generateCosignKeyPair, readPrivateKey, readPublicKey } from './keys.js';
import { signImage } from './sign.js';
import { buildSignatureImage, signatureTag } from './signature-image.js';
import { requireVerified, verifyImage } from './verify-image.js';

let registry: TestRegistry;
let target: RegistryTarget;
let identity: string;
const keys: { name: string; privateKey: KeyObject; trusted: TrustedKey; publicPem: string }[] = [];

beforeAll(async () => {
  registry = await startRegistry();
  target = openRegistryTarget(`docker://${registry.host}/signed/app`);
  identity = `${registry.host}/signed/app`;
  for (const name of ['alice', 'bob']) {
    const pair = await generateCosignKeyPair('pw');
    keys.push({
      name,
      privateKey: await readPrivateKey(pair.privateKeyPem, { password: 'pw' }, name),
      trusted: { name, key: readPublicKey(pair.publicKeyPem, name) },
      publicPem: pair.publicKeyPem,
    });
  }
});
afterAll(async () => {
  await registry?.stop();
});

/** Reads a manifest or blob straight from the registry's HTTP API: our client plays no part. */
async function rawGet(path: string, accept = '*/*'): Promise<Buffer> {
  const response = await fetch(`${registry.url}/v2/signed/app/${path}`, { headers: { accept } });
  expect(response.status).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

describe('signImage and verifyImage against a real registry', () => {
  it('writes exactly the signature cosign writes, as an independent reader sees it', async () => {
    const image = await pushTinyImage(target, 'one', 'one');
    const result = await signImage(target, image, { key: keys[0]!.privateKey });
    const hex = image.digest.slice('sha256:'.length);
    expect(result.tag).toBe(`sha256-${hex}.sig`);

    const manifest = JSON.parse(
      (await rawGet(`manifests/sha256-${hex}.sig`, MediaType.ociManifest)).toString(),
    );
    expect(manifest.schemaVersion).toBe(2);
    expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(manifest.config.mediaType).toBe('application/vnd.oci.image.config.v1+json');
    expect(manifest.layers).toHaveLength(1);
    const [layer] = manifest.layers;
    expect(Object.keys(layer)).toEqual(['mediaType', 'size', 'digest', 'annotations']);
    expect(layer.mediaType).toBe('application/vnd.dev.cosign.simplesigning.v1+json');
    expect(Object.keys(layer.annotations)).toEqual(['dev.cosignproject.cosign/signature']);

    const config = JSON.parse((await rawGet(`blobs/${manifest.config.digest}`)).toString());
    expect(config).toEqual({
      architecture: '',
      created: '0001-01-01T00:00:00Z',
      history: [{ created: '0001-01-01T00:00:00Z' }],
      os: '',
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
      config: {},
    });

    const payload = await rawGet(`blobs/${layer.digest}`);
    expect(payload.toString()).toBe(
      `{"critical":{"identity":{"docker-reference":"${identity}"},"image":{"docker-manifest-digest":"${image.digest}"},"type":"cosign container image signature"},"optional":null}`,
    );
    const signature = Buffer.from(layer.annotations['dev.cosignproject.cosign/signature'], 'base64');
    const publicKey = createPublicKey(keys[0]!.publicPem);
    expect(verify('sha256', payload, publicKey, signature)).toBe(true); // DER, as node's default
  });

  it('verifies what it signed and names the signer; a second signature keeps the first', async () => {
    const image = await pushTinyImage(target, 'two', 'two');
    const first = await signImage(target, image, { key: keys[0]!.privateKey });
    const second = await signImage(target, image, { key: keys[1]!.privateKey });
    expect(second.signatureCount).toBe(2);
    const found = await verifyImage(target, image, { keys: keys.map((k) => k.trusted) });
    expect(found.verified).toBe(true);
    expect(found.signatures.map((s) => [s.valid, s.signer?.name, s.layerDigest])).toEqual([
      [true, 'alice', first.layer.digest],
      [true, 'bob', second.layer.digest],
    ]);
    expect(found.signatures[0]!.message).toBe(`signed by alice for ${identity}@${image.digest}`);
    requireVerified(found, target.name);
  });

  it('an unsigned image: signed false, and requireVerified says so', async () => {
    const image = await pushTinyImage(target, 'unsigned', 'unsigned');
    const found = await verifyImage(target, image, { keys: [keys[0]!.trusted] });
    expect(found).toMatchObject({ signed: false, verified: false, signatures: [] });
    let error: unknown;
    try {
      requireVerified(found, target.name);
    } catch (caught) {
      error = caught;
    }
    expect(isTrustError(error, 'VERIFICATION_FAILED')).toBe(true);
    expect((error as Error).message).toBe(
      `${target.name}@${image.digest} does not verify: not signed (no cosign signature under the tag ${signatureTag(image.digest)}, no Sigstore bundle among its referrers); sign it with a trusted key (concil sign) or trust the key that signed it`,
    );
  });

  it('a signature of another key: KEY_UNKNOWN', async () => {
    const image = await pushTinyImage(target, 'other key', 'other-key');
    await signImage(target, image, { key: keys[1]!.privateKey });
    const found = await verifyImage(target, image, { keys: [keys[0]!.trusted] });
    expect(found.verified).toBe(false);
    expect(found.signatures.map((s) => s.rejection)).toEqual(['KEY_UNKNOWN']);
  });

  it('a signature made for another digest, moved onto this image’s .sig tag: OTHER_DIGEST', async () => {
    const signed = await pushTinyImage(target, 'signed', 'signed');
    const victim = await pushTinyImage(target, 'victim', 'victim');
    const { signatureManifest } = await signImage(target, signed, { key: keys[0]!.privateKey });
    await target.tag(signatureManifest, signatureTag(victim.digest));
    const found = await verifyImage(target, victim, { keys: [keys[0]!.trusted] });
    expect(found.verified).toBe(false);
    expect(found.signatures[0]).toMatchObject({
      rejection: 'OTHER_DIGEST',
      message: `signed by alice for ${signed.digest}, not for ${victim.digest}`,
    });
    expect(() => requireVerified(found, target.name)).toThrow(
      `${target.name}@${victim.digest} does not verify: signed by alice for ${signed.digest}, not for ${victim.digest}; sign it with a trusted key (concil sign) or trust the key that signed it`,
    );
  });

  it('a payload naming another repository: OTHER_REPOSITORY', async () => {
    const image = await pushTinyImage(target, 'elsewhere', 'elsewhere');
    await signImage(target, image, { key: keys[0]!.privateKey, identity: `${registry.host}/other/repo` });
    const found = await verifyImage(target, image, { keys: [keys[0]!.trusted] });
    expect(found.signatures[0]).toMatchObject({
      rejection: 'OTHER_REPOSITORY',
      message: `signed by alice for the repository ${registry.host}/other/repo, not ${identity}`,
    });
  });

  it('ignores layers that are no simple-signing payload (other attachments)', async () => {
    const image = await pushTinyImage(target, 'attached', 'attached');
    const { signatureManifest } = await signImage(target, image, { key: keys[0]!.privateKey });
    const signed = JSON.parse(
      (await rawGet(`manifests/${signatureManifest.digest}`, MediaType.ociManifest)).toString(),
    );
    const note = Buffer.from('this is not a signature, regardless of the annotation');
    const noteDesc: Descriptor = {
      mediaType: 'text/plain',
      size: note.length,
      digest: computeDigest(note),
      annotations: signed.layers[0].annotations,
    };
    await target.push(noteDesc, Readable.from([note]));
    const withNote = buildSignatureImage([noteDesc, ...signed.layers]);
    await target.push(withNote.config, Readable.from([withNote.configBytes]));
    await target.push(withNote.manifest, Readable.from([withNote.manifestBytes]));
    await target.tag(withNote.manifest, signatureTag(image.digest));
    const found = await verifyImage(target, image, { keys: [keys[0]!.trusted] });
    expect(found.signatures.map((s) => s.valid)).toEqual([true]);
    expect(found.verified).toBe(true);
  });

  it('refuses a target that holds no tags (as an image directory): UNSUPPORTED, nothing written', async () => {
    const image = await pushTinyImage(target, 'single', 'single');
    // The content of the registry, seen through a target whose resolve ignores the reference,
    // as an image directory's does: it would otherwise take the image for its own signature. (An
    // image directory fetches no manifest by reference either; it fetches by descriptor.)
    const single = Object.assign(Object.create(target), {
      name: 'dir:/somewhere',
      resolve: () => target.resolve('single'),
      fetch: (desc: Descriptor, options?: FetchOptions) => target.fetch(desc, options),
      fetchReference: undefined,
    }) as RegistryTarget;
    const refused = await signImage(single, image, { key: keys[0]!.privateKey, identity }).catch((e) => e);
    expect(isTrustError(refused, 'UNSUPPORTED')).toBe(true);
    expect((refused as Error).message).toBe(
      `dir:/somewhere holds no tags, so it cannot hold cosign signatures (${signatureTag(image.digest)}); sign and verify the image in a registry or an OCI layout`,
    );
    expect((await verifyImage(target, image, { keys: [keys[0]!.trusted] })).signed).toBe(false);
    await expect(verifyImage(single, image, { keys: [keys[0]!.trusted], identity })).rejects.toThrow(
      'holds no tags',
    );
  });
});
