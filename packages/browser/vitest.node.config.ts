// The tests that run on Node: the Vite plugin (its rewriting, and a real Vite build with it).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // A real Vite build takes about 2 s on a loaded 2-core machine: vitest's default 5 s limit is too near.
  test: { name: 'node', include: ['test/**/*.node.test.ts'], testTimeout: 30_000 },
});
