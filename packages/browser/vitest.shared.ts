/**
 * The browser test runs: vitest's browser mode in Debian's headless Chromium, driven by
 * Playwright. One run serves every response with COOP and COEP headers (the page is
 * cross-origin isolated: SharedArrayBuffer, the shared-memory transport), the other without
 * (no SharedArrayBuffer: the message transport serves the whole API). Each run checks which
 * it is, so the two cannot silently become the same.
 */
import { existsSync } from 'node:fs';
import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';

/** Debian's `chromium` package (`apt-get install -y chromium`; `.ci/run` installs it when missing). */
export const CHROMIUM = '/usr/bin/chromium';

/** Flags for a root user on a machine without a GPU or outside network: no sandbox, no background connections. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function browserConfig(isolated: boolean) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Cannot run the browser tests: ${CHROMIUM} is missing; install Debian's chromium (apt-get install -y chromium), as .ci/run does`);
  }
  return defineConfig({
    // Fixtures served as they are, not compiled: a module that does not parse must reach the browser as it is.
    publicDir: 'test/public',
    server: {
      headers: isolated ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {},
    },
    test: {
      name: isolated ? 'chromium, cross-origin isolated' : 'chromium, not isolated',
      include: ['test/**/*.test.ts'],
      exclude: ['test/**/*.node.test.ts', '**/node_modules/**'],
      provide: { isolated },
      testTimeout: 30_000,
      hookTimeout: 30_000,
      fileParallelism: false,
      browser: {
        enabled: true,
        headless: true,
        screenshotFailures: false,
        provider: playwright({ launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS } }),
        instances: [{ browser: 'chromium' }],
      },
    },
  });
}
