import { describe, expect, it } from 'vitest';
import { RequestLimiter } from './request-limiter.js';

describe('RequestLimiter', () => {
  it('runs at most max tasks at once, in order, and survives failures', async () => {
    const limiter = new RequestLimiter(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const task = (n: number) => async () => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setImmediate(resolve));
      running -= 1;
      order.push(n);
      if (n === 3) throw new Error('boom');
      return n;
    };
    const results = await Promise.allSettled([1, 2, 3, 4, 5, 6].map((n) => limiter.run(task(n))));
    expect(peak).toBe(2);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    expect(order.sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
