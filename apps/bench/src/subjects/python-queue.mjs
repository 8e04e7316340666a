import { pythonAvailable, runPython } from '../lib/python.mjs';

export default {
  name: 'CPython mp.Queue',
  scenario: 'queue-stream',
  order: 90,
  note: 'CPython `multiprocessing.Queue`: producer processes `put`, consumer processes `get` until a sentinel (4×4: all 8 processes share one queue and consumers compete, unlike the MessagePort split) — python/queue_stream.py',
  available: pythonAvailable,
  run: ({ payload, n, producers, consumers }) =>
    runPython('queue_stream.py', ['--payload', payload, '--n', n, '--producers', producers, '--consumers', consumers]),
};
