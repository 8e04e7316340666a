// The core conformance suite on the other kind of thread: a daemon Thread is a node:worker_threads
// Worker (Web Workers cannot be unref'd). Here every thread is spawned that way; the suite itself
// sees ordinary threads, so its waits keep the test run alive as they should.
import { denoRuntime, useRuntime } from '@threadkit/deno';
import { conformance } from '@threadkit/core/conformance';
import { denoTestApi } from './_test_api.ts';

useRuntime({ ...denoRuntime, spawn: (options, events) => denoRuntime.spawn({ ...options, daemon: true }, events) });

conformance(denoTestApi('node:worker_threads'), { kinds: ['thread'] });
