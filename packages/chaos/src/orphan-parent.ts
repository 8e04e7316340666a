/**
 * The parent the orphan scenario ends: it starts processes busy and idle, daemon and not, nested
 * ones (under a busy parent and an idle one) and a Pool's workers (one busy), prints `READY <json of role → pid>` once each
 * has written its pid, then ends as its argument says: `sigkill`/`sigterm` from outside; on `go`
 * from stdin, `uncaught` throws and `exit` calls process.exit(0).
 * usage: node dist/orphan-parent.js <ending> <dir>
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool, Process } from '@threadkit/node';
import { taskModuleOf } from './tasks.js';

const tasks = taskModuleOf<typeof import('./tasks/orphans.js')>('orphans');
const [ending = '', dir = ''] = process.argv.slice(2);

// Four spin (a loop that never yields: it cannot see its channel close), on a 2-core machine.
new Process({ target: tasks.busy, args: [dir, 'busy'] }).start();
new Process({ target: tasks.idle, args: [dir, 'idle'] }).start();
new Process({ target: tasks.idle, args: [dir, 'daemon-idle'], daemon: true }).start();
new Process({ target: tasks.nest, args: [dir, 'nest-idle', false, ['idle']] }).start();
new Process({ target: tasks.nest, args: [dir, 'nest-busy', true, ['busy', 'idle']] }).start();
// Its other worker stays idle; the harness finds it among the parent's children.
const pool = new Pool({ kind: 'process', size: 2 });
pool.apply(tasks.busy, [dir, 'pool-busy']).catch(() => {});

const roles = ['busy', 'idle', 'daemon-idle', 'nest-idle', 'nest-idle.idle', 'nest-busy', 'nest-busy.busy', 'nest-busy.idle', 'pool-busy'];
for (;;) {
  const have = readdirSync(dir);
  if (roles.every((r) => have.includes(`pid-${r}`))) break;
  await new Promise((r) => setTimeout(r, 10));
}
const pids = Object.fromEntries(roles.map((r) => [r, Number(readFileSync(join(dir, `pid-${r}`), 'utf8'))]));
process.stdout.write(`READY ${JSON.stringify(pids)}\n`);
process.stdin.once('data', () => {
  if (ending === 'uncaught') throw new Error('the orphan scenario ends its parent with an uncaught error');
  if (ending === 'exit') process.exit(0);
});
