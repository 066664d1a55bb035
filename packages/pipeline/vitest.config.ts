import { defineConfig } from 'vitest/config';

// The tests start real peers (docker-registry, podman's API service, runc): on a busy machine a
// test can take seconds, so the limits are generous (they are not timing assertions).
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
