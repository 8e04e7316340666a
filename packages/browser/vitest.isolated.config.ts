// The browser tests in a cross-origin isolated page (COOP + COEP): shared memory between threads.
import { browserConfig } from './vitest.shared.ts';

export default browserConfig(true);
