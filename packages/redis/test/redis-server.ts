/**
 * A real `redis-server` for the tests: on 127.0.0.1, a free port, no persistence unless asked,
 * stopped by its pid. `REDIS_URL` names an existing server instead (for `useExisting` callers; the
 * fault tests that kill or restart Redis always start their own).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServerOptions {
  /** Keep data across a restart: `appendonly yes` with fsync on every write. */
  readonly persistence?: boolean;
  /** `requirepass` for the default user. */
  readonly password?: string;
  /** Extra config lines, e.g. ['user alice on >secret ~* +@all']. */
  readonly config?: readonly string[];
  /** Serve TLS only (no plain port), with these PEM files; clients are not asked for certificates. */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string };
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** The server's pid (undefined when REDIS_URL was used). */
  pid(): number | undefined;
  /** Sends a signal to the server (SIGKILL, SIGSTOP, SIGCONT…). */
  signal(sig: NodeJS.Signals): void;
  /** Kills it (SIGKILL) and waits until it has gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port, with the same folder (so AOF data comes back when persistent). */
  start(): Promise<void>;
  /** Stops it for good and removes its folder. */
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function ping(port: number, password?: string, ca?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = ca ? tlsConnect({ port, host: '127.0.0.1', ca: readFileSync(ca) }) : new Socket();
    let data = '';
    sock.setTimeout(500, () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('error', () => resolve(false));
    const hello = (): void => void sock.write(password ? `AUTH ${password}\r\nPING\r\n` : 'PING\r\n');
    if (ca) sock.once('secureConnect', hello);
    else (sock as Socket).connect(port, '127.0.0.1', hello);
    sock.on('data', (chunk) => {
      data += chunk.toString();
      if (data.includes('PONG')) {
        sock.destroy();
        resolve(true);
      } else if (data.includes('-')) {
        sock.destroy();
        resolve(false);
      }
    });
  });
}

async function waitUntil(check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`redis-server: ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const started = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of started) c.kill('SIGKILL');
});

/** Starts a redis-server of its own (always: for tests that kill, pause or restart it). */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'threadkit-redis-'));
  let child: ChildProcess | undefined;
  const args = [
    ...(options.tls
      ? [
          '--port',
          '0',
          '--tls-port',
          String(port),
          '--tls-cert-file',
          options.tls.cert,
          '--tls-key-file',
          options.tls.key,
          '--tls-ca-cert-file',
          options.tls.ca,
          '--tls-auth-clients',
          'no',
        ]
      : ['--port', String(port)]),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.persistence ? 'yes' : 'no',
    '--appendfsync',
    'always',
    '--maxmemory-policy',
    'noeviction',
  ];
  if (options.password) args.push('--requirepass', options.password);
  for (const line of options.config ?? []) {
    const [key, ...rest] = line.split(' ');
    args.push(`--${key}`, ...rest);
  }
  const launch = async (): Promise<void> => {
    const c = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child = c;
    started.add(c);
    c.once('exit', () => started.delete(c));
    await waitUntil(
      () => {
        if (c.exitCode !== null) throw new Error(`redis-server exited (${c.exitCode}) on start: ${args.join(' ')}`);
        return ping(port, options.password, options.tls?.ca);
      },
      10_000,
      `no PONG on port ${port}`,
    );
  };
  await launch();
  const gone = (c: ChildProcess): Promise<void> =>
    c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', () => r()));
  return {
    url: `${options.tls ? 'rediss' : 'redis'}://${options.password ? `:${options.password}@` : ''}127.0.0.1:${port}`,
    port,
    pid: () => child?.pid,
    signal: (sig) => {
      child?.kill(sig);
    },
    kill: async () => {
      if (!child) return;
      const c = child;
      c.kill('SIGCONT');
      c.kill('SIGKILL');
      await gone(c);
    },
    start: launch,
    stop: async () => {
      if (child) {
        const c = child;
        c.kill('SIGCONT');
        c.kill('SIGKILL');
        await gone(c);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The server named by REDIS_URL, or one of its own. */
export async function redisForTests(): Promise<RedisServer> {
  const url = process.env.REDIS_URL;
  if (!url) return startRedis();
  const port = Number(new URL(url).port || 6379);
  const unsupported = (): never => {
    throw new Error('this test needs a redis-server of its own; it cannot kill or restart the one REDIS_URL names');
  };
  return { url, port, pid: () => undefined, signal: unsupported, kill: unsupported, start: unsupported, stop: async () => {} };
}
