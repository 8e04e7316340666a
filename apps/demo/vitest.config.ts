import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/, which the tests run as `pnpm start` does.
    globalSetup: ['test/build.ts'],
    testTimeout: 60_000,
    // The CLI's tests and the page's end-to-end test both time concurrent work: one file at a time on 2 cores.
    fileParallelism: false,
  },
});
