import { describe, expect, it } from 'vitest';
import { TokenCache } from './token-cache.js';

describe('TokenCache', () => {
  it('keeps a token until shortly before it expires', () => {
    const cache = new TokenCache(10_000);
    const key = TokenCache.key('https://auth/token', 'registry', ['repository:a:pull'], 'alice');
    cache.set(key, 'token-1', 300, 1_000_000);
    expect(cache.get(key, 1_000_000 + 289_000)).toBe('token-1');
    expect(cache.get(key, 1_000_000 + 291_000)).toBeUndefined();
    expect(cache.get(key, 1_000_000)).toBeUndefined();
  });

  it('keys by realm, service, scope set (in any order) and account', () => {
    const a = TokenCache.key('r', 's', ['repository:a:pull', 'repository:b:pull'], 'alice');
    expect(TokenCache.key('r', 's', ['repository:b:pull', 'repository:a:pull'], 'alice')).toBe(a);
    expect(TokenCache.key('r', 's', ['repository:a:pull'], 'alice')).not.toBe(a);
    expect(TokenCache.key('r', 's', ['repository:a:pull', 'repository:b:pull'], 'bob')).not.toBe(a);
  });
});
