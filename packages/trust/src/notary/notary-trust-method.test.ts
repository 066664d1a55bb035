import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchBytes } from '@concil/oci-spec';
import { openRegistryTarget, type RegistryTarget } from '@concil/registry-client';
import { startNotary, startRegistry, type TestNotary, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTrustError } from '../errors.js';
import { TrustPolicy } from '../policy/trust-policy.js';
import { rejection } from '../test-helpers/rejection.js';
import { pushTinyImage } from '../test-helpers/tiny-image.js';
import { notaryTrustMethod } from './notary-trust-method.js';
import { NotaryVerifier } from './notary-verifier.js';

let registry: TestRegistry;
let notary: TestNotary;
let work: string;
let target: RegistryTarget;
let identity: string;
let verifier: NotaryVerifier;
let signedDigest: string;
let unsignedDigest: string;

beforeAll(async () => {
  [registry, notary] = await Promise.all([startRegistry(), startNotary()]);
  work = await mkdtemp(join(tmpdir(), 'concil-notary-method-'));
  identity = `${registry.host}/team/app`;
  target = openRegistryTarget(`docker://${identity}`);
  const signed = await pushTinyImage(target, 'signed', 'signed-copy');
  // The registry's v1 is an image nobody signed; Notary signs the other one as v1.
  const unsigned = await pushTinyImage(target, 'unsigned', 'v1');
  signedDigest = signed.digest;
  unsignedDigest = unsigned.digest;
  await writeFile(join(work, 'manifest.json'), await fetchBytes(target, signed));
  const { trustDir } = await notary.client(['init', identity]);
  await notary.client(['add', identity, 'v1', join(work, 'manifest.json')], { trustDir });
  await notary.client(['publish', identity], { trustDir });
  verifier = NotaryVerifier.fromConfig({
    cache_dir: join(work, 'cache'),
    cafile: notary.caPath,
    remote_servers: { [registry.host]: { notary: notary.url } },
  });
});
afterAll(async () => {
  await verifier?.close();
  await Promise.all([registry?.stop(), notary?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('notaryTrustMethod (a trust policy method)', () => {
  it('resolves a tag to the digest Notary signs, not the one the registry tags', async () => {
    const method = notaryTrustMethod(verifier);
    const descriptor = await method.resolve({ reference: `${identity}:v1`, identity, target, tag: 'v1' });
    expect(descriptor.digest).toBe(signedDigest);
    const decision = await method.verify({
      reference: `${identity}:v1`,
      identity,
      target,
      manifest: descriptor,
    });
    expect(decision).toEqual({
      method: 'notary',
      message: `signed in targets of ${identity} as "v1" (${signedDigest}, ${descriptor.size} bytes)`,
    });
  });

  it('refuses the manifest the registry tags, naming the reference, the digest and the signed one', async () => {
    const method = notaryTrustMethod(verifier);
    const manifest = await target.resolve('v1');
    expect(manifest.digest).toBe(unsignedDigest);
    const error = await rejection(method.verify({ reference: `${identity}:v1`, identity, target, manifest }));
    expect(isTrustError(error, 'TARGET_MISMATCH')).toBe(true);
    expect((error as Error).message).toBe(
      `${identity}:v1 (${unsignedDigest}) is not trusted by Notary: ${identity}:v1: the manifest is ${unsignedDigest} (${manifest.size} bytes) but targets signs ${signedDigest} (${(await target.resolve(signedDigest)).size} bytes) for "v1"`,
    );
  });

  it('refuses a tag Notary does not sign', async () => {
    const error = await rejection(
      notaryTrustMethod(verifier).resolve({
        reference: `${identity}:signed-copy`,
        identity,
        target,
        tag: 'signed-copy',
      }),
    );
    expect(isTrustError(error, 'TARGET_NOT_FOUND')).toBe(true);
    expect((error as Error).message).toContain(
      `${identity}:signed-copy is not trusted by Notary: "signed-copy" is not signed`,
    );
  });
});

describe('a TrustPolicy with content_trust "notary"', () => {
  const policy = () =>
    new TrustPolicy(
      { disable_content_trust: false, content_trust: 'notary', remote_servers: {} },
      { notary: () => notaryTrustMethod(verifier) },
    );

  it('resolves the tag to the signed digest and verifies it: the registry is asked by that digest', async () => {
    const descriptor = await policy().resolveTrusted(target, 'v1');
    expect(descriptor.digest).toBe(signedDigest);
    expect(await policy().resolveTag(`${identity}:v1`)).toEqual({
      digest: signedDigest,
      size: descriptor.size,
    });
  });

  it('refuses the manifest the registry tags, and a tag Notary does not sign', async () => {
    const manifest = await target.resolve('v1');
    expect(
      isTrustError(await rejection(policy().verify(`${identity}:v1`, target, manifest)), 'TARGET_MISMATCH'),
    ).toBe(true);
    expect(
      isTrustError(await rejection(policy().resolveTrusted(target, 'signed-copy')), 'TARGET_NOT_FOUND'),
    ).toBe(true);
  });
});
