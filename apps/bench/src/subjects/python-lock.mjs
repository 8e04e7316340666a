import { pythonAvailable, runPython } from '../lib/python.mjs';

const lock = (kind, name, order, note) => ({
  name,
  scenario: 'lock',
  order,
  note,
  available: pythonAvailable,
  run: ({ threads, n, warmup }) => runPython('lock.py', ['--kind', kind, '--threads', threads, '--n', n, '--warmup', warmup]),
});

export default [
  lock(
    'mp',
    'CPython mp.Lock',
    90,
    'CPython `multiprocessing.Lock` (a POSIX semaphore in shared memory); contended: 2 forked processes, counter in a `RawValue` — python/lock.py',
  ),
  lock(
    'threading',
    'CPython threading.Lock',
    95,
    'CPython `threading.Lock`; contended: 2 threads of one process, so they also take turns on the GIL — python/lock.py',
  ),
];
