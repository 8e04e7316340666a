// The core conformance suite on Node worker threads, on both transports.
import '@threadkit/node';
import { conformance } from '@threadkit/core/conformance';
import { describe, it } from 'vitest';

conformance({ describe, it }, { kinds: ['thread'] });
