import { describe, expect, it } from 'vitest';
import { matchAuthKey, normalizeAuthKey } from './auth-keys.js';
import { parseTokenResponse } from './authorizer.js';
import { mergeScopes, parseChallenges } from './challenge.js';

describe('parseChallenges', () => {
  it('reads a bearer challenge with quoted parameters and a scope list', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push repository:c:pull",error="insufficient_scope"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.example/token',
          service: 'registry.example',
          scope: 'repository:a/b:pull,push repository:c:pull',
          error: 'insufficient_scope',
        },
      },
    ]);
  });

  it('reads several challenges and unquoted values', () => {
    expect(parseChallenges('Basic realm="Registry Realm", Bearer realm=https://x/token, service=x')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry Realm' } },
      { scheme: 'bearer', params: { realm: 'https://x/token', service: 'x' } },
    ]);
    expect(parseChallenges(undefined)).toEqual([]);
  });
});

describe('mergeScopes', () => {
  it('unites the actions per resource', () => {
    expect(
      mergeScopes(['repository:a:pull', 'repository:a:push', 'repository:b:pull repository:a:pull']),
    ).toEqual(['repository:a:pull,push', 'repository:b:pull']);
  });
});

describe('parseTokenResponse', () => {
  it('takes token or access_token, with the spec default lifetime', () => {
    expect(parseTokenResponse('{"access_token":"abc"}')).toEqual({ token: 'abc', expiresIn: 60 });
    expect(parseTokenResponse('{"token":"t","expires_in":300,"issued_at":"2026-01-01T00:00:00Z"}')).toEqual({
      token: 't',
      expiresIn: 300,
      issuedAt: Date.parse('2026-01-01T00:00:00Z'),
    });
    expect(parseTokenResponse('not json')).toBeUndefined();
    expect(parseTokenResponse('{"token":""}')).toBeUndefined();
  });
});

describe('auth keys', () => {
  it('normalises URLs and Docker Hub aliases', () => {
    expect(normalizeAuthKey('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normalizeAuthKey('http://Registry.Example:5000/')).toBe('registry.example:5000');
    expect(normalizeAuthKey('registry.example/team/')).toBe('registry.example/team');
  });

  it('picks the longest matching prefix on path boundaries', () => {
    const keys = ['r.example', 'r.example/a', 'r.example/a/b'];
    expect(matchAuthKey(keys, 'r.example', 'a/b/c')).toBe('r.example/a/b');
    expect(matchAuthKey(keys, 'r.example', 'a/bc')).toBe('r.example/a');
    expect(matchAuthKey(keys, 'r.example', 'z')).toBe('r.example');
    expect(matchAuthKey(keys, 'r.example:5000', 'z')).toBeUndefined();
  });
});
