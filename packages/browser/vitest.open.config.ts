// The browser tests in a page without cross-origin isolation: no SharedArrayBuffer, messages only.
import { browserConfig } from './vitest.shared.ts';

export default browserConfig(false);
