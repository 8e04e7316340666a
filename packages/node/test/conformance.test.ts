import '@threadkit/node';
import { conformance } from '@threadkit/core/conformance';
import { describe, it } from 'vitest';

conformance({ describe, it }, { kinds: ['thread', 'process'] });
