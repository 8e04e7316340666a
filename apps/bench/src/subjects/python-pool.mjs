import { pythonAvailable, runPython } from '../lib/python.mjs';

export default [
  {
    name: 'CPython Pool.apply_async',
    scenario: 'pool',
    cases: ['apply'],
    order: 90,
    note: 'CPython `multiprocessing.Pool(2)` (forked processes), N `apply_async(noop)` then every `.get()` — python/pool.py',
    available: pythonAvailable,
    run: ({ workers, n, warmup }) => runPython('pool.py', ['--mode', 'apply', '--workers', workers, '--n', n, '--warmup', warmup]),
  },
  {
    name: 'CPython Pool.map',
    scenario: 'pool',
    cases: ['map'],
    order: 10,
    note: "CPython `Pool(2).map(identity, range(N))` with Python's default chunking (N / (4 × workers) items per chunk: 8 chunks for 200k) — python/pool.py",
    available: pythonAvailable,
    run: ({ workers, n, warmup }) => runPython('pool.py', ['--mode', 'map', '--workers', workers, '--n', n, '--warmup', warmup]),
  },
  {
    name: 'CPython Pool',
    scenario: 'pool',
    cases: ['cpu', 'cpu-scaling'],
    order: 90,
    note: "CPython `multiprocessing.Pool(2)` (`Pool(1)` for the one-worker run), N `apply_async(hash)` then every `.get()`; the hash is hashlib's SHA-256 (OpenSSL, as Node's crypto) — python/pool.py",
    available: pythonAvailable,
    run: ({ case: kase, workers, n, warmup, bytes }) =>
      runPython('pool.py', ['--mode', kase, '--workers', workers, '--n', n, '--warmup', warmup, '--bytes', bytes]),
  },
];
