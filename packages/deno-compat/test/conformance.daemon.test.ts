// The core conformance suite on the other kind of thread: a daemon Thread is a node:worker_threads
// Worker (Web Workers cannot be unref'd). Here every thread is spawned that way; the suite itself
// sees ordinary threads, so its waits keep the test run alive as they should.
import { denoRuntime, useRuntime } from '@threadkit/deno';
import { conformance } from '@threadkit/core/conformance';
import { denoTestApi } from './_test_api.ts';

useRuntime({ ...denoRuntime, spawn: (options, events) => denoRuntime.spawn({ ...options, daemon: true }, events) });

const slowStart = {
  test: /plays entries concurrently|with concurrency 2/,
  why: "a node:worker_threads Worker takes 2.5 times as long as a Web Worker to start (a median 50 ms against 20 ms, and its constructor blocks for 60-110 ms on a loaded machine), so the starts can outlast the suite's 200-300 ms tracks; the Web Worker run checks Playlist's concurrency",
};

conformance(denoTestApi('node:worker_threads', [slowStart]), { kinds: ['thread'] });
