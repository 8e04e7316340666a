/**
 * vitest's global setup: builds dist/ (src/main.ts and src/tasks.ts compiled to dist/main.js and
 * dist/tasks.js) before the tests run it, exactly as `pnpm build` does. `tsc -b` returns at once
 * when dist/ is up to date.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-b', 'tsconfig.build.json'], { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: 'inherit' });
}
