import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // One Redis per test file, and worker processes of their own: files run one at a time on a small machine.
    fileParallelism: false,
  },
});
