// The tests that run on Node: the Vite plugin (its rewriting, and a real Vite build with it).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { name: 'node', include: ['test/**/*.node.test.ts'] },
});
