import { defineConfig } from 'vitest/config';

// The tests talk to a real registry and start real processes: on a busy machine a step can take
// seconds, so the limits are generous (they are not timing assertions).
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
