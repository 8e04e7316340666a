#!/usr/bin/env node
/**
 * `threadkit-worker`: serves a RemotePool's jobs on this machine until SIGTERM or SIGINT, which
 * drain it (running tasks finish and answer; nothing new is taken; nothing runs twice because of it).
 *
 *   threadkit-worker --connection redis://10.0.0.5:6379 --name render --tasks tasks=./dist/tasks.js --size 4 --kind process
 */
import { parseArgs } from 'node:util';
import { serve } from './serve.js';

const USAGE = `usage: threadkit-worker --name NAME --tasks MODULE=PATH [--tasks MODULE=PATH…]
                        [--connection redis://host:port] [--size N] [--kind thread|process|inline]
                        [--concurrency N] [--lease MS] [--abort-grace MS] [--max-payload BYTES]
                        [--connect-timeout MS] [--quiet]

  --connection  Redis URL (redis:// or rediss://, user and password in it if needed); default REDIS_URL or redis://127.0.0.1:6379
  --name        the queue's name, as the RemotePool gives it
  --tasks       a task module: the name callers give remoteTasks(), = its file (relative to the working directory)
  --size        threads (or processes) of the local pool; default one per CPU
  --kind        thread (default) or process: the local pool's workers; or inline: on the worker's
                own thread, no local pool (for tasks that wait on I/O or are short: one that
                computes holds up the lease renewals of every job the worker holds)
  --concurrency jobs held at once; default max(16, 4 × size), 16 inline
  --lease       a job's lease in ms (a dead worker's jobs move on within 1.5 leases); default 10000
  --abort-grace ms a cancelled task has to stop before its thread or process is killed; default 1000
  --max-payload the largest result in bytes, once encoded; default 16 MiB
  --connect-timeout  ms to wait for Redis at start before giving up (exit 1); default 10000
  --quiet       no log lines`;

function fail(message: string): never {
  process.stderr.write(`threadkit-worker: ${message}\n${USAGE}\n`);
  process.exit(2);
}

let values: Record<string, string | boolean | string[] | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      connection: { type: 'string' },
      name: { type: 'string' },
      tasks: { type: 'string', multiple: true },
      size: { type: 'string' },
      kind: { type: 'string' },
      concurrency: { type: 'string' },
      lease: { type: 'string' },
      'abort-grace': { type: 'string' },
      'max-payload': { type: 'string' },
      'connect-timeout': { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }));
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (typeof values.name !== 'string') fail('--name is required');
const tasks: Record<string, string> = {};
for (const t of (values.tasks as string[] | undefined) ?? []) {
  const eq = t.indexOf('=');
  if (eq <= 0 || eq === t.length - 1) fail(`--tasks takes MODULE=PATH, got ${JSON.stringify(t)}`);
  tasks[t.slice(0, eq)] = t.slice(eq + 1);
}
if (Object.keys(tasks).length === 0) fail('--tasks is required (at least one MODULE=PATH)');
const int = (flag: string): number | undefined => {
  const v = values[flag];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) fail(`--${flag} takes a whole number, got ${JSON.stringify(v)}`);
  return n;
};
const kind = values.kind;
if (kind !== undefined && kind !== 'thread' && kind !== 'process' && kind !== 'inline')
  fail(`--kind takes thread, process or inline, got ${JSON.stringify(kind)}`);
if (kind === 'inline') {
  for (const flag of ['size', 'abort-grace']) if (values[flag] !== undefined) fail(`--${flag} is for a local pool, and --kind inline has none; drop it`);
}

const optional = <T>(key: string, v: T | undefined): Record<string, T> => (v === undefined ? {} : { [key]: v });
try {
  const server = await serve({
    name: values.name,
    tasks,
    ...optional('connection', values.connection as string | undefined),
    ...optional('size', int('size')),
    ...optional('kind', kind as 'thread' | 'process' | 'inline' | undefined),
    ...optional('concurrency', int('concurrency')),
    ...optional('lease', int('lease')),
    ...optional('abortGrace', int('abort-grace')),
    ...optional('maxPayload', int('max-payload')),
    ...optional('connectTimeout', int('connect-timeout')),
    ...(values.quiet ? {} : { log: (line: string) => process.stderr.write(`${line}\n`) }),
  });
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`threadkit-worker: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // Ready: a parent that started us can wait for this line.
  process.stdout.write(`ready ${server.id}\n`);
} catch (error) {
  process.stderr.write(`threadkit-worker: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
  process.exit(1);
}
