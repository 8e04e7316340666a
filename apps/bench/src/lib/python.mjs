// Runs the CPython scripts in apps/bench/python. Each prints one JSON object on its last
// stdout line: { "value": <figure>, ...anything else worth keeping }.
import { spawnSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PY_DIR = fileURLToPath(new URL('../../python/', import.meta.url));
const PYTHON = process.env.BENCH_PYTHON || 'python3';

let cached;
/** Information about python3 ({ version, startMethod }), or null when there is none. */
export function pythonInfo() {
  if (cached !== undefined) return cached;
  const r = spawnSync(
    PYTHON,
    ['-c', 'import sys, json, multiprocessing as mp; print(json.dumps({"version": sys.version.split()[0], "startMethod": mp.get_start_method()}))'],
    { encoding: 'utf8', timeout: 20_000 },
  );
  cached = r.status === 0 ? JSON.parse(r.stdout.trim()) : null;
  return cached;
}

/** For a subject's `available()`: true, or the reason reported instead of a figure. */
export function pythonAvailable() {
  return pythonInfo() ? true : `no ${PYTHON}`;
}

/** Runs `python3 python/<script> ...args` and resolves with its JSON result. */
export function runPython(script, args = [], { timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [script, ...args.map(String)], { cwd: PY_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`python3 ${script} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`python3 ${script} exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
      const last = out.trim().split('\n').pop();
      try {
        resolve(JSON.parse(last));
      } catch {
        reject(new Error(`python3 ${script} printed no JSON: ${out.slice(-200)}`));
      }
    });
  });
}
