import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  type Fault,
  type FaultProxy,
  startFaultProxy,
  startRegistry,
  type TestRegistry,
} from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCredentialProvider } from './auth/config-sources.js';
import { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import { openRegistryTarget } from './registry-target.js';
import { makeImage, pushImage, readAll } from './test-helpers/image.js';

const users = { alice: 'wonderland', bob: 'builder', carol: 'readonly' };

describe('basic auth (htpasswd)', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'basic', users });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('pushes and pulls with the right password', async () => {
    const client = new RegistryClient(registry.host, {
      credentials: { username: 'alice', password: 'wonderland' },
    });
    const image = makeImage([100]);
    await pushImage(client, 'private/app', image, 'v1');
    expect((await client.getManifest('private/app', 'v1')).descriptor).toEqual(image.manifest.descriptor);
    await client.close();
  });

  it('says the password is wrong, without the password (UNAUTHORIZED)', async () => {
    const client = new RegistryClient(registry.host, {
      credentials: { username: 'alice', password: 'hunter2' },
    });
    const error = await client.getManifest('private/app', 'v1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    expect((error as Error).message).toBe(
      `wrong username or password for ${registry.host}; log in or check ~/.concil/config.json auths`,
    );
    expect(JSON.stringify(error) + String((error as Error).stack)).not.toContain('hunter2');
    await client.close();
  });

  it('says credentials are needed when there are none', async () => {
    const client = new RegistryClient(registry.host, { credentials: async () => undefined });
    const error = await client.listTags('private/app').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((error as Error).message).toContain(`${registry.host} requires authentication`);
    await client.close();
  });

  it('names the image and the blob, not the blob as the image, when a blob request needs credentials', async () => {
    const image = makeImage([10]);
    const blob = image.config.descriptor.digest;
    const target = openRegistryTarget(`${registry.host}/private/app:v1`, {
      credentials: async () => undefined,
    });
    const error = await target.exists(image.config.descriptor).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'UNAUTHORIZED',
      reference: `docker://${registry.host}/private/app:v1`,
    });
    expect((error as Error).message).toBe(
      `${registry.host} requires authentication for docker://${registry.host}/private/app:v1 (while asking for blob ${blob}); log in or add credentials to ~/.concil/config.json auths`,
    );
    // Without the image (the client alone), its repository.
    const alone = await target.client.headBlob('private/app', blob).catch((e: unknown) => e);
    expect((alone as Error).message).toContain(
      `requires authentication for docker://${registry.host}/private/app (while asking for blob ${blob});`,
    );
    await target.client.close();
  });

  it('prompts only when the registry asks and no file has credentials, once per registry', async () => {
    const asked: string[] = [];
    const client = new RegistryClient(registry.host, {
      credentials: defaultCredentialProvider({
        homeDir: '/nonexistent',
        env: {},
        prompt: async ({ registry: host, repository }) => {
          asked.push(`${host}/${repository}`);
          return { username: 'alice', password: 'wonderland' };
        },
      }),
    });
    expect(await client.listTags('private/app')).toEqual(['v1']);
    await client.headManifest('private/other', 'v1');
    expect(asked).toEqual([`${registry.host}/private/app`]);
    await client.close();
  });

  it('uses the user:pass written in the reference', async () => {
    const target = openRegistryTarget(`docker://bob:builder@${registry.host}/private/app:v1`, {
      homeDir: '/nonexistent',
      env: {},
    });
    const desc = await target.resolve();
    expect(desc.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
  });
});

describe('token auth (bearer tokens from a JWT issuer)', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({
      auth: 'token',
      users,
      refreshTokens: { 'refresh-for-alice': 'alice' },
      // carol may only pull
      grant: (user, requested) =>
        user === undefined
          ? []
          : user === 'carol'
            ? requested.actions.filter((a) => a === 'pull')
            : requested.actions,
    });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('asks for pull and push scopes per repository and caches tokens per scope', async () => {
    const issuer = registry.tokenIssuer!;
    const client = new RegistryClient(registry.host, {
      credentials: { username: 'alice', password: 'wonderland' },
    });
    const image = makeImage([100, 200]);
    const before = issuer.requestCount();
    await pushImage(client, 'team/app', image, 'v1');
    const afterPush = issuer.requestCount();
    // one token for push,pull on team/app, reused for every blob and the manifest
    expect(afterPush - before).toBe(1);
    expect(issuer.requestedScopes().at(-1)).toEqual(['repository:team/app:pull,push']);

    for (let i = 0; i < 3; i++) await client.getManifest('team/app', 'v1');
    const layer = image.layers[0]!;
    expect((await readAll(await client.fetchBlob('team/app', layer.descriptor))).equals(layer.bytes)).toBe(
      true,
    );
    // pull needs its own scope: one more token, then cached
    expect(issuer.requestCount() - afterPush).toBe(1);
    expect(issuer.requestedScopes().at(-1)).toEqual(['repository:team/app:pull']);

    await client.getManifest('team/app', 'v1');
    expect(issuer.requestCount() - afterPush).toBe(1);
    await client.close();
  });

  it('shares one token among parallel requests', async () => {
    const issuer = registry.tokenIssuer!;
    const client = new RegistryClient(registry.host, {
      credentials: { username: 'alice', password: 'wonderland' },
      maxConcurrency: 2,
    });
    const before = issuer.requestCount();
    const image = makeImage([10]);
    const heads = await Promise.all(
      Array.from({ length: 6 }, () => client.headBlob('team/app', image.config.descriptor.digest)),
    );
    expect(heads).toEqual(Array(6).fill(undefined));
    expect(issuer.requestCount() - before).toBe(1);
    await client.close();
  });

  it('exchanges an identity token from docker config at the realm (OAuth2)', async () => {
    const home = await mkdtemp(join(tmpdir(), 'concil-identity-'));
    await mkdir(join(home, '.docker'));
    await writeFile(
      join(home, '.docker', 'config.json'),
      JSON.stringify({ auths: { [registry.host]: { auth: '', identitytoken: 'refresh-for-alice' } } }),
    );
    const client = new RegistryClient(registry.host, {
      credentials: defaultCredentialProvider({ homeDir: home, env: {} }),
    });
    expect((await client.getManifest('team/app', 'v1')).manifest.kind).toBe('manifest');
    await client.close();
    await rm(home, { recursive: true, force: true });
  });

  it('mounts with a token that covers both repositories', async () => {
    const client = new RegistryClient(registry.host, {
      credentials: { username: 'bob', password: 'builder' },
    });
    const image = makeImage([300]);
    await pushImage(client, 'team/base', image, 'v1');
    const layer = image.layers[0]!;
    expect(await client.mountBlob('team/derived', layer.descriptor.digest, 'team/base')).toBe(true);
    expect(registry.tokenIssuer!.requestedScopes().at(-1)).toEqual([
      'repository:team/base:pull',
      'repository:team/derived:pull,push',
    ]);
    expect(await client.headBlob('team/derived', layer.descriptor.digest)).toEqual({
      digest: layer.descriptor.digest,
      size: layer.descriptor.size,
    });
    await client.close();
  });

  it('deletes with the delete scope', async () => {
    const client = new RegistryClient(registry.host, {
      credentials: { username: 'alice', password: 'wonderland' },
    });
    const image = makeImage([10]);
    await pushImage(client, 'team/trash', image, 'v1');
    await client.deleteManifest('team/trash', image.manifest.descriptor.digest);
    expect(registry.tokenIssuer!.requestedScopes().at(-1)).toEqual(['repository:team/trash:delete']);
    expect(await client.headManifest('team/trash', 'v1')).toBeUndefined();
    await client.close();
  });

  it('lists the catalog with the registry:catalog:* scope', async () => {
    const client = new RegistryClient(registry.host, {
      credentials: { username: 'bob', password: 'builder' },
    });
    expect(await client.listRepositories()).toEqual(expect.arrayContaining(['team/app', 'team/base']));
    await client.close();
  });

  it('says the password is wrong when the token issuer refuses it', async () => {
    const client = new RegistryClient(registry.host, { credentials: { username: 'bob', password: 'nope' } });
    const error = await client.getManifest('team/app', 'v1').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((error as Error).message).toBe(
      `wrong username or password for ${registry.host}; log in or check ~/.concil/config.json auths`,
    );
    await client.close();
  });

  it('says DENIED when the account may pull but not push', async () => {
    const client = new RegistryClient(registry.host, {
      credentials: { username: 'carol', password: 'readonly' },
    });
    expect((await client.getManifest('team/app', 'v1')).manifest.kind).toBe('manifest');
    const image = makeImage([10]);
    const error = await client
      .pushBlob('team/app', image.config.descriptor, Readable.from([image.config.bytes]))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ code: 'DENIED', status: 403 });
    expect((error as Error).message).toContain('the account lacks permission');
    await client.close();
  });

  it('names the image being pushed and the blob when the account may not push', async () => {
    const target = openRegistryTarget(`${registry.host}/team/app:v2`, {
      credentials: { username: 'carol', password: 'readonly' },
    });
    expect((await target.client.getManifest('team/app', 'v1')).manifest.kind).toBe('manifest');
    const image = makeImage([10]);
    const blob = image.config.descriptor;
    const error = await target.push(blob, Readable.from([image.config.bytes])).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DENIED', reference: `docker://${registry.host}/team/app:v2` });
    expect((error as Error).message).toBe(
      `docker://${registry.host}/team/app:v2 (while pushing blob ${blob.digest}): access denied by ${registry.host} (DENIED); the account lacks permission for this repository`,
    );
    await target.client.close();
  });

  it('fails anonymous pulls with a clear message', async () => {
    const client = new RegistryClient(registry.host, { credentials: async () => undefined });
    const error = await client.getManifest('team/app', 'v1').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((error as Error).message).toContain('requires authentication');
    await client.close();
  });

  describe('a token service that misbehaves (a fault proxy in front of the issuer)', () => {
    let front: FaultProxy;
    let tokens: FaultProxy;
    beforeAll(async () => {
      front = await startFaultProxy(registry.url);
      tokens = await startFaultProxy(new URL(registry.tokenIssuer!.realm).origin);
    });
    afterAll(async () => {
      await front?.stop();
      await tokens?.stop();
    });

    /** A client whose registry sends it to the proxied token service; `fault` is what that answers. */
    async function withTokenFault(fault: Fault | undefined): Promise<unknown> {
      const { service } = registry.tokenIssuer!;
      front.inject({
        kind: 'status',
        status: 401,
        headers: { 'www-authenticate': `Bearer realm="${tokens.url}/token",service="${service}"` },
      });
      if (fault) tokens.inject(fault);
      const client = new RegistryClient(front.host, {
        credentials: { username: 'alice', password: 'wonderland' },
      });
      try {
        return await client.getManifest('team/app', 'v1');
      } catch (error) {
        return error;
      } finally {
        await client.close();
      }
    }

    it('reports a 5xx from the token service as SERVER_ERROR, naming the registry, without secrets', async () => {
      const error = await withTokenFault({ kind: 'status', status: 503, match: { path: /^\/token/ } });
      expect(error).toBeInstanceOf(RegistryError);
      expect(error).toMatchObject({ code: 'SERVER_ERROR', status: 503, reference: front.host });
      expect((error as Error).message).toBe(
        `the token service of ${front.host} answered HTTP 503; try again later`,
      );
      expect(JSON.stringify(error) + String((error as Error).stack)).not.toContain('wonderland');
    });

    it('reports a token service answering something that is no token as PROTOCOL', async () => {
      const error = await withTokenFault({
        kind: 'status',
        status: 200,
        headers: { 'content-type': 'text/html' },
        body: '<html>sign in</html>',
        match: { path: /^\/token/ },
      });
      expect(error).toBeInstanceOf(RegistryError);
      expect(error).toMatchObject({ code: 'PROTOCOL', reference: front.host });
      expect((error as Error).message).toBe(`the token service of ${front.host} answered without a token`);
      for (const body of ['{"token": ""}', '{"access_token": 42}', '[]']) {
        const again = await withTokenFault({
          kind: 'status',
          status: 200,
          body,
          match: { path: /^\/token/ },
        });
        expect(again).toMatchObject({ code: 'PROTOCOL' });
      }
    });

    it('gets its token through the same proxies when the service behaves', async () => {
      const fetched = await withTokenFault(undefined);
      expect(fetched).toMatchObject({ manifest: { kind: 'manifest' } });
      expect(tokens.requests.at(-1)).toMatchObject({
        url: expect.stringMatching(/^\/token\?/),
        authorization: true,
      });
    });
  });

  it('streams a blob upload after authenticating on the upload session', async () => {
    const client = new RegistryClient(registry.host, {
      credentials: { username: 'alice', password: 'wonderland' },
    });
    const bytes = Buffer.alloc(200_000, 7);
    const { computeDigest } = await import('@concil/oci-spec');
    const desc = { digest: computeDigest(bytes), size: bytes.length };
    await client.pushBlob(
      'team/stream',
      desc,
      Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]),
    );
    expect(await client.headBlob('team/stream', desc.digest)).toEqual(desc);
    await client.close();
  });
});
