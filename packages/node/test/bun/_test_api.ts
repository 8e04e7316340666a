/**
 * core's conformance suite registers its tests through a small `describe`/`it` interface; this
 * maps it onto `bun:test`, with a time limit per test.
 */
import { describe, test } from 'bun:test';
import type { TestApi } from '@threadkit/core/conformance';

/** How long one test may take (bun:test's default, 5 s, is short for a loaded 2-core machine). */
export const LIMIT_MS = 30_000;

/** The test API for `bun test`. */
export function bunTestApi(): TestApi {
  return {
    describe: (name, fn) => describe(name, fn),
    it: (name, fn) => test(name, fn, LIMIT_MS),
  };
}
