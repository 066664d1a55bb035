import { defineConfig } from 'vitest/config';

// Opening a cosign key runs scrypt (N=2^15..2^16: tens of MiB, a good part of a second each) and the
// registry tests start a real registry: on a busy machine a test can take seconds, so the limits
// are generous (they are not timing assertions).
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
