// The core conformance suite on Deno processes (`deno run` children; shared objects reach them by messages).
import '@threadkit/deno';
import { conformance } from '@threadkit/core/conformance';
import { denoTestApi } from './_test_api.ts';

conformance(denoTestApi(), { kinds: ['process'] });
