// core's conformance suite under Bun, with the Node adapter: child processes, each a Bun process.
import '@threadkit/node';
import { conformance } from '@threadkit/core/conformance';
import { bunTestApi } from './_test_api.ts';

conformance(bunTestApi(), { kinds: ['process'] });
