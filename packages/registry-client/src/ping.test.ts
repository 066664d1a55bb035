import { startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';

const users = { alice: 'wonderland' };

describe('ping: GET /v2/ checks the credentials, as docker login does', () => {
  const registries: Partial<Record<'none' | 'basic' | 'token', TestRegistry>> = {};
  beforeAll(async () => {
    [registries.none, registries.basic, registries.token] = await Promise.all([
      startRegistry(),
      startRegistry({ auth: 'basic', users }),
      startRegistry({ auth: 'token', users }),
    ]);
  });
  afterAll(async () => {
    await Promise.all(Object.values(registries).map((registry) => registry.stop()));
  });

  async function ping(kind: 'none' | 'basic' | 'token', password: string) {
    const client = new RegistryClient(registries[kind]!.host, {
      credentials: { username: 'alice', password },
    });
    try {
      return await client.ping();
    } catch (error) {
      return error;
    } finally {
      await client.close();
    }
  }

  it('says whether the registry asked for credentials at all', async () => {
    expect(await ping('none', 'whatever')).toEqual({ authenticated: false });
  });

  for (const kind of ['basic', 'token'] as const) {
    it(`accepts the right password and refuses a wrong one (${kind})`, async () => {
      expect(await ping(kind, 'wonderland')).toEqual({ authenticated: true });
      const error = await ping(kind, 'hunter2');
      expect(error).toBeInstanceOf(RegistryError);
      expect(error).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
      expect((error as Error).message).toBe(
        `wrong username or password for ${registries[kind]!.host}; log in or check ~/.concil/config.json auths`,
      );
      expect((error as Error).message).not.toContain('hunter2');
    });
  }

  it('counts the token request of a bearer registry as one check', async () => {
    const issuer = registries.token!.tokenIssuer!;
    const before = issuer.requestCount();
    expect(await ping('token', 'wonderland')).toEqual({ authenticated: true });
    expect(issuer.requestCount() - before).toBe(1);
    expect(issuer.requestedScopes().at(-1)).toEqual([]);
  });
});
