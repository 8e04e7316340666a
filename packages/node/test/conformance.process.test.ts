// The core conformance suite on Node child processes (shared objects reach them by messages).
import '@threadkit/node';
import { conformance } from '@threadkit/core/conformance';
import { describe, it } from 'vitest';

conformance({ describe, it }, { kinds: ['process'] });
