/**
 * core's conformance suite registers its tests through a small `describe`/`it` interface; this
 * maps it onto `bun:test`, with a time limit per test. A test whose name matches a pattern of
 * `skip` is registered as skipped, and the reason is printed, as every runtime that skips one does.
 */
import { describe, test } from 'bun:test';
import type { TestApi } from '@threadkit/core/conformance';

/** How long one test may take (bun:test's default, 5 s, is short for a loaded 2-core machine). */
export const LIMIT_MS = 30_000;

/** A test that cannot hold under `bun test`, and why. */
export interface Skip {
  readonly test: RegExp;
  readonly why: string;
}

/** The test API for `bun test`. */
export function bunTestApi(skip: readonly Skip[] = []): TestApi {
  const prefix: string[] = [];
  return {
    describe(name, fn) {
      describe(name, () => {
        prefix.push(name);
        try {
          fn();
        } finally {
          prefix.pop();
        }
      });
    },
    it(name, fn) {
      const reason = skip.find((s) => s.test.test([...prefix, name].join(' › ')));
      if (!reason) return test(name, fn, LIMIT_MS);
      console.log(`skipped: ${[...prefix, name].join(' › ')}: ${reason.why}`);
      test.skip(name, fn);
    },
  };
}
