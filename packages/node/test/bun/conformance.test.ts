// core's conformance suite under Bun, with the Node adapter: worker threads, on both transports.
import '@threadkit/node';
import { conformance } from '@threadkit/core/conformance';
import { bunTestApi } from './_test_api.ts';

conformance(bunTestApi(), { kinds: ['thread'] });
