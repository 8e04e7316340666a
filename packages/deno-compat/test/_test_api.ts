/**
 * core's conformance suite registers its tests through a small `describe`/`it` interface; this
 * maps it onto `Deno.test`. Each test gets a time limit (Deno.test has none), and Deno's
 * op/resource sanitizers are off: a test that ends a worker leaves Deno's bookkeeping of it
 * (a terminated worker's handle, a child's pipe) to be closed a tick later.
 */
import type { TestApi } from '@threadkit/core/conformance';

/** How long one test may take before it fails instead of stalling the run. */
const LIMIT_MS = 60_000;

const prefix: string[] = [];

/** The test API, with every test name under `group` when given. */
export function denoTestApi(group?: string): TestApi {
  return {
    describe: (name, fn) => api.describe(group ? `${group} › ${name}` : name, fn),
    it: (name, fn) => api.it(name, fn),
  };
}

const api: TestApi = {
  describe(name, fn) {
    prefix.push(name);
    try {
      fn();
    } finally {
      prefix.pop();
    }
  },
  it(name, fn) {
    Deno.test({
      name: [...prefix, name].join(' › '),
      sanitizeOps: false,
      sanitizeResources: false,
      fn: () => withLimit(fn, name),
    });
  },
};

/** Runs `fn`, failing it if it takes longer than {@link LIMIT_MS}. */
export async function withLimit(fn: () => Promise<void> | void, name: string, ms = LIMIT_MS): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${name}: still running after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
