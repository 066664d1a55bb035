import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // The README example imports the package by name; test it against the sources.
    alias: { '@concil/squashfs': fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
  },
  test: {
    include: ['src/**/*.test.ts'],
    // These tests run the real squashfs-tools on real images: give them time, never retry.
    testTimeout: 180_000,
    hookTimeout: 600_000,
  },
});
