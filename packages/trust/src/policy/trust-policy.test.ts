import { fetchReferencedManifest } from '@concil/oci-spec';
import { openRegistryTarget, RegistryTarget } from '@concil/registry-client';
import { startFaultProxy, startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cosignTrustMethod } from '../cosign/cosign-method.js';
import { generateCosignKeyPair, readPrivateKey, readPublicKey } from '../cosign/keys.js';
import { signImage } from '../cosign/sign.js';
import { pushTinyImage } from '../test-helpers/tiny-image.js';
import { settingsFor } from './policy-settings.js';
import { TrustPolicy } from './trust-policy.js';

describe('settingsFor', () => {
  const config = {
    disable_content_trust: true,
    content_trust: 'cosign',
    remote_servers: {
      'reg.example:5000': { content_trust: 'cosign', cosign_keys: ['ops'] },
      'reg.example:5000/team': { cosign_keys: ['team'], signed_identity: 'up.example/team/app' },
      'reg.example:5000/team/legacy': { disable_content_trust: true },
      other: { content_trust: 'notary' },
    },
  };

  it('applies the registry, then ever more specific repository prefixes', () => {
    expect(settingsFor(config, 'docker://reg.example:5000/base/os:1')).toMatchObject({
      required: true,
      method: 'cosign',
      cosignKeys: ['ops'],
      identity: 'reg.example:5000/base/os',
    });
    expect(settingsFor(config, 'reg.example:5000/team/app:2')).toMatchObject({
      required: true,
      cosignKeys: ['team'],
      identity: 'up.example/team/app',
      scopes: ['reg.example:5000', 'reg.example:5000/team'],
    });
    expect(settingsFor(config, 'reg.example:5000/team/legacy/x:1').required).toBe(false);
    // A prefix covers whole path components only.
    expect(settingsFor(config, 'reg.example:5000/teamwork/app:1').cosignKeys).toEqual(['ops']);
    // The host alone covers every port; the top level applies elsewhere.
    expect(settingsFor(config, 'other:8443/a:1')).toMatchObject({ required: true, method: 'notary' });
    expect(settingsFor(config, 'elsewhere.example/a:1').required).toBe(false);
  });
});

describe('TrustPolicy on a registry', () => {
  let registry: TestRegistry;
  let policy: TrustPolicy;
  const asked: string[] = [];

  beforeAll(async () => {
    registry = await startRegistry();
    const pair = await generateCosignKeyPair('pw');
    const key = await readPrivateKey(pair.privateKeyPem, { password: 'pw' }, 'k');
    const signed = openRegistryTarget(`docker://${registry.host}/policy/signed:1`);
    await signImage(signed, await pushTinyImage(signed, 'signed', '1'), { key });
    const unsigned = openRegistryTarget(`docker://${registry.host}/policy/unsigned:1`);
    await pushTinyImage(unsigned, 'unsigned', '1');
    const method = cosignTrustMethod([{ name: 'k', key: readPublicKey(pair.publicKeyPem, 'k') }]);
    policy = new TrustPolicy(
      { disable_content_trust: false, content_trust: 'cosign' },
      {
        cosign: (settings) => {
          asked.push(settings.identity);
          return method;
        },
      },
    );
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('a guarded source resolves a signed image, and stays a RegistryTarget for mounts', async () => {
    const guarded = policy.guard(openRegistryTarget(`docker://${registry.host}/policy/signed:1`));
    expect(guarded).toBeInstanceOf(RegistryTarget);
    expect(guarded.repository).toBe('policy/signed');
    const desc = await guarded.resolve();
    expect(desc.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(asked).toEqual([`${registry.host}/policy/signed`]);
  });

  it('a guarded source refuses an unsigned image at resolve, naming it, the digest and why', async () => {
    const target = openRegistryTarget(`docker://${registry.host}/policy/unsigned:1`);
    const { digest } = await target.resolve();
    await expect(policy.guard(target).resolve()).rejects.toMatchObject({
      code: 'VERIFICATION_FAILED',
      message: `${registry.host}/policy/unsigned:1@${digest} does not verify: not signed (no cosign signature under the tag sha256-${digest.slice(7)}.sig, no Sigstore bundle among its referrers); sign it with a trusted key (concil sign) or trust the key that signed it`,
    });
  });

  it('a guarded source fetches no manifest by tag past the policy: readers resolve it, and are refused', async () => {
    const target = openRegistryTarget(`docker://${registry.host}/policy/unsigned:1`);
    const { digest } = await target.resolve();
    const guarded = policy.guard(target);
    expect(target.fetchReference).toBeTypeOf('function');
    expect(guarded.fetchReference).toBeUndefined();
    await expect(fetchReferencedManifest(guarded)).rejects.toMatchObject({
      code: 'VERIFICATION_FAILED',
      message: expect.stringContaining(`${registry.host}/policy/unsigned:1@${digest} does not verify`),
    });
  });

  it('a method that signs tags (as Notary) names the digest: the registry is asked by it, never by the tag', async () => {
    const direct = openRegistryTarget(`docker://${registry.host}/policy/unsigned:1`);
    const { digest, size } = await direct.resolve();
    const proxy = await startFaultProxy(registry.url);
    try {
      const asked: string[] = [];
      const tagSigning = new TrustPolicy(
        { disable_content_trust: false, content_trust: 'notary' },
        {
          notary: () => ({
            name: 'notary',
            resolveTag: async (request) => {
              asked.push(`${request.reference} ${request.tag}`);
              return { digest, size };
            },
            verify: async (request) => ({
              method: 'notary',
              message: `${request.manifest.digest} is signed`,
            }),
          }),
        },
      );
      const guarded = tagSigning.guard(openRegistryTarget(`docker://${proxy.host}/policy/unsigned:1`));
      expect((await guarded.resolve()).digest).toBe(digest);
      expect(asked).toEqual([`${proxy.host}/policy/unsigned:1 1`]);
      expect(proxy.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
        `HEAD /v2/policy/unsigned/manifests/${digest}`,
      ]);
      expect(await tagSigning.storeVerifier().resolveTag(`${proxy.host}/policy/unsigned:1`)).toEqual({
        digest,
        size,
      });
      expect(
        await tagSigning.storeVerifier().resolveTag(`${proxy.host}/policy/unsigned@${digest}`),
      ).toBeUndefined();
    } finally {
      await proxy.stop();
    }
  });

  it('a trust system without a verifier is refused with METHOD_UNAVAILABLE', async () => {
    const notary = new TrustPolicy({ disable_content_trust: false, content_trust: 'notary' }, {});
    const target = openRegistryTarget(`docker://${registry.host}/policy/signed:1`);
    await expect(notary.guard(target).resolve()).rejects.toMatchObject({ code: 'METHOD_UNAVAILABLE' });
    expect(notary.enforcesAnything).toBe(true);
    const off = new TrustPolicy({ disable_content_trust: true, content_trust: 'cosign' }, {});
    expect(off.enforcesAnything).toBe(false);
    expect(await off.guard(target).resolve()).toMatchObject({ size: expect.any(Number) });
  });
});
