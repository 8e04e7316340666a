// The core conformance suite in real headless Chromium, on threads and processes (isolated
// workers). Run twice: in a cross-origin isolated page and in one without isolation.
import '@threadkit/browser';
import { conformance } from '@threadkit/core/conformance';
import { describe, it } from 'vitest';

conformance({ describe, it });
