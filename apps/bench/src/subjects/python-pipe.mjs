import { pythonAvailable, runPython } from '../lib/python.mjs';

export default {
  name: 'CPython mp.Pipe',
  scenario: 'pipe-pingpong',
  order: 90,
  note: 'CPython `multiprocessing.Pipe()` (duplex socketpair) between the Python process and a forked child; `send`/`recv` pickle the object (`{"id", "text"}` dict, or 64 KiB `bytes`) — python/pipe_pingpong.py',
  available: pythonAvailable,
  run: ({ payload, n, warmup }) => runPython('pipe_pingpong.py', ['--payload', payload, '--n', n, '--warmup', warmup]),
};
