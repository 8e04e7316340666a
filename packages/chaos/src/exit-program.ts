/**
 * A program whose worker ends by exit(n) or by an unobserved error, for the check that an explicit
 * exit is never reported as an exception.
 * usage: node dist/exit-program.js <thread|process> <exit3-joined|exit3-alone|exit0|fail-unobserved>
 *   exit3-joined:    exit(3) in the task; join() and read exitCode
 *   exit3-alone:     exit(3) in the task; the main module ends without joining (a non-daemon keeps the program alive)
 *   exit0:           exit(0) in the task; join()
 *   fail-unobserved: the task throws; join() without reading error (the control: this is reported)
 */
import { Process, Thread } from '@threadkit/node';
import { taskModuleOf } from './tasks.js';

const tasks = taskModuleOf<typeof import('./tasks/bad-input.js')>('bad-input');
const [kind, mode] = process.argv.slice(2);
const Kind = kind === 'process' ? Process : Thread;
const w = mode === 'fail-unobserved' ? new Kind({ target: tasks.fail, args: [] }) : new Kind({ target: tasks.exitWith, args: [mode === 'exit0' ? 0 : 3] });
w.start();
if (mode !== 'exit3-alone') {
  await w.join();
  console.log(`exitCode ${w.exitCode}`);
}
