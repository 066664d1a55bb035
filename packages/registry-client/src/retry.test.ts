import { describe, expect, it } from 'vitest';
import { nextLink } from './pagination.js';
import {
  defaultRetryOptions,
  isRetryableNetworkError,
  isRetryableStatus,
  parseRetryAfter,
  retryDelay,
} from './retry.js';

describe('Retry-After', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('1')).toBe(1000);
    const now = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');
    expect(parseRetryAfter('Wed, 21 Oct 2026 07:28:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 21 Oct 2026 07:27:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it('is honoured up to the maximum delay, else backoff doubles', () => {
    expect(retryDelay(0, defaultRetryOptions, 2000)).toBe(2000);
    expect(retryDelay(0, defaultRetryOptions, 10_000_000)).toBe(defaultRetryOptions.maxDelayMs);
    const options = { ...defaultRetryOptions, baseDelayMs: 100 };
    expect(retryDelay(3, options)).toBeGreaterThanOrEqual(640);
    expect(retryDelay(3, options)).toBeLessThanOrEqual(960);
  });
});

describe('what is retried', () => {
  it('retries 429 and temporary 5xx, not 501 or 4xx', () => {
    expect([429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 404, 501].some(isRetryableStatus)).toBe(false);
  });

  it('retries resets, also when wrapped', () => {
    expect(isRetryableNetworkError({ code: 'ECONNRESET' })).toBe(true);
    expect(isRetryableNetworkError(new Error('x', { cause: { code: 'UND_ERR_SOCKET' } }))).toBe(true);
    expect(isRetryableNetworkError(new Error('x'))).toBe(false);
  });
});

describe('Link pagination', () => {
  it('finds rel="next"', () => {
    expect(nextLink('</v2/a/tags/list?last=b&n=2>; rel="next"')).toBe('/v2/a/tags/list?last=b&n=2');
    expect(nextLink('<https://x/prev>; rel="prev", <https://x/next>; rel=next')).toBe('https://x/next');
    expect(nextLink(undefined)).toBeUndefined();
  });
});
