import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/, which the tests run as `pnpm start` does.
    globalSetup: ['test/build.ts'],
    testTimeout: 60_000,
  },
});
