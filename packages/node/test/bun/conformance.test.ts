// core's conformance suite under Bun, with the Node adapter: worker threads, on both transports.
import '@threadkit/node';
import { conformance } from '@threadkit/core/conformance';
import { bunTestApi } from './_test_api.ts';

conformance(
  bunTestApi([
    {
      test: /^Pool of threads › an error that escapes every task ends the worker/,
      why:
        "under bun test an uncaught error in a worker thread skips the worker's own handler and reaches the parent as an 'error' event, " +
        'which a Pool reports as a crash (WorkerExitError) rather than the TaskError this test expects; in a Bun program it holds (bun.test.ts checks both)',
    },
  ]),
  { kinds: ['thread'] },
);
