// The core conformance suite on Deno threads (module Web Workers), on both transports.
import '@threadkit/deno';
import { conformance } from '@threadkit/core/conformance';
import { denoTestApi } from './_test_api.ts';

conformance(denoTestApi(), { kinds: ['thread'] });
