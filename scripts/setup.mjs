// Everything a fresh machine with only Node 20 and npm needs: the pinned pnpm, then the
// workspace's dependencies from the lockfile. Safe to run again; it does nothing twice.
import { execSync } from 'node:child_process';

const PNPM = '12.4.2';
const run = (cmd) => execSync(cmd, { stdio: 'inherit' });

let have = '';
try {
  have = execSync('pnpm --version', { stdio: ['ignore', 'pipe', 'ignore'] })
    .toString()
    .trim();
} catch {}
if (have !== PNPM) {
  console.log(`setup: installing pnpm ${PNPM} (found ${have || 'none'})`);
  run(`npm install --global pnpm@${PNPM}`);
}
process.env.TURBO_TELEMETRY_DISABLED = '1';
run('pnpm install --frozen-lockfile --prefer-offline');
