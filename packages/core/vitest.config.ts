import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The codec's property tests are CPU-bound: 2–3 s each at a load of 15 on 2 cores, near vitest's default 5 s limit.
  test: { include: ['test/**/*.test.ts'], testTimeout: 30_000 },
});
