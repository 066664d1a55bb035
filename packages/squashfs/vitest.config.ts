import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // These tests run the real squashfs-tools on real images: give them time, never retry.
    testTimeout: 180_000,
    hookTimeout: 600_000,
  },
});
