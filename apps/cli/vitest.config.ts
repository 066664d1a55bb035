import { defineConfig } from 'vitest/config';

// Every test runs whole `concil` processes (and skopeo) against a real registry: on a busy machine
// one can take several seconds, so the limits are generous (they are not timing assertions).
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
