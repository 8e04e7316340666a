/**
 * Connections to Redis: one place that turns `connection` (a URL or options) into ioredis
 * clients, says when Redis cannot be reached or refuses us (a named error, never a hang), and
 * keeps credentials out of every message.
 */
import { describe } from '@threadkit/core/pool-kit';
import { Redis, type RedisOptions } from 'ioredis';
import { RedisConnectionError } from './errors.js';

/** Where Redis is: a `redis://` or `rediss://` (TLS) URL, with an ACL user and password if needed, or ioredis options. */
export type Connection = string | ConnectionOptions;

/** Redis connection options (a subset of ioredis's). */
export interface ConnectionOptions {
  readonly host?: string;
  readonly port?: number;
  readonly username?: string;
  readonly password?: string;
  readonly db?: number;
  /** TLS options (`rediss://` turns TLS on with the defaults). */
  readonly tls?: RedisOptions['tls'];
  /** A URL; the other options override its parts. */
  readonly url?: string;
}

const OPTION_KEYS = ['host', 'port', 'username', 'password', 'db', 'tls', 'url'];

/** A connection, checked: what ioredis takes, and how to name it in messages (no credential). */
export interface ConnectionConfig {
  readonly options: RedisOptions;
  /** `redis://host:port/db`, with any user shown and any password as `***`. */
  readonly label: string;
}

function fromUrl(what: string, url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError(`${what}: connection ${JSON.stringify(redact(url))} is not a URL; give redis://host:port (or rediss:// for TLS)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new TypeError(`${what}: connection must be a redis:// or rediss:// URL, got one with ${u.protocol}`);
  }
  const o: RedisOptions = { host: u.hostname || '127.0.0.1', port: u.port ? Number(u.port) : 6379 };
  if (u.username) o.username = decodeURIComponent(u.username);
  if (u.password) o.password = decodeURIComponent(u.password);
  const db = u.pathname.replace(/^\//, '');
  if (db) {
    if (!/^\d+$/.test(db)) throw new TypeError(`${what}: the URL's path must be a database number like /0, got /${db}`);
    o.db = Number(db);
  }
  if (u.protocol === 'rediss:') o.tls = {};
  return o;
}

/** Hides the password of a `redis://user:pass@host` URL. */
export function redact(url: string): string {
  return url.replace(/^(rediss?:\/\/)([^@/]*)@/i, (_m, scheme: string, auth: string) => {
    const at = auth.indexOf(':');
    return at < 0 ? `${scheme}***@` : `${scheme}${auth.slice(0, at)}${at < auth.length - 1 ? ':***' : ''}@`;
  });
}

/** Checks `connection` and makes it ioredis options. */
export function connectionConfig(what: string, connection: unknown): ConnectionConfig {
  let options: RedisOptions;
  if (typeof connection === 'string') options = fromUrl(what, connection);
  else if (typeof connection === 'object' && connection !== null) {
    for (const key of Object.keys(connection)) {
      if (!OPTION_KEYS.includes(key)) throw new TypeError(`${what}: connection has no option ${key}; it takes ${OPTION_KEYS.join(', ')}`);
    }
    const c = connection as ConnectionOptions;
    options = c.url !== undefined ? fromUrl(what, c.url) : { host: '127.0.0.1', port: 6379 };
    if (c.host !== undefined) {
      if (typeof c.host !== 'string' || c.host === '') throw new TypeError(`${what}: connection.host must be a host name, got ${describe(c.host)}`);
      options.host = c.host;
    }
    if (c.port !== undefined) {
      if (!Number.isInteger(c.port) || c.port < 1 || c.port > 65535)
        throw new RangeError(`${what}: connection.port must be a port number, got ${describe(c.port)}`);
      options.port = c.port;
    }
    if (c.db !== undefined) {
      if (!Number.isInteger(c.db) || c.db < 0) throw new RangeError(`${what}: connection.db must be a database number, got ${describe(c.db)}`);
      options.db = c.db;
    }
    if (c.username !== undefined) {
      if (typeof c.username !== 'string') throw new TypeError(`${what}: connection.username must be a string`);
      options.username = c.username;
    }
    if (c.password !== undefined) {
      if (typeof c.password !== 'string') throw new TypeError(`${what}: connection.password must be a string`);
      options.password = c.password;
    }
    if (c.tls !== undefined) options.tls = c.tls;
  } else {
    throw new TypeError(`${what}: connection must be a redis:// URL or options like { host, port }, got ${describe(connection)}`);
  }
  const user = options.username ? `${options.username}${options.password ? ':***' : ''}@` : options.password ? '***@' : '';
  const label = `${options.tls ? 'rediss' : 'redis'}://${user}${options.host}:${options.port}${options.db ? `/${options.db}` : ''}`;
  return { options, label };
}

/** The connection from `REDIS_URL`, or the default one. */
export function defaultConnection(): string {
  return (typeof process !== 'undefined' && process.env.REDIS_URL) || 'redis://127.0.0.1:6379';
}

/** Options every client gets: commands wait through a reconnect (BullMQ's workers need it), reconnects back off to 1 s. */
const BASE: RedisOptions = {
  maxRetriesPerRequest: null,
  enableReadyCheck: true,
  lazyConnect: true,
  retryStrategy: (times: number) => Math.min(50 * times, 1000),
};

function isAuthError(error: unknown): boolean {
  const m = error instanceof Error ? error.message : String(error);
  return /WRONGPASS|NOAUTH|NOPERM|invalid username-password|AUTH failed|ERR AUTH/i.test(m);
}

/** Strips a credential that a library put into an error message. */
export function scrub(message: string, config: ConnectionConfig): string {
  let m = message;
  const p = config.options.password;
  if (p) m = m.split(p).join('***');
  return m.replace(/(rediss?:\/\/[^\s@/]*:)[^\s@/]+@/gi, '$1***@');
}

/**
 * A new client, connected: resolves once Redis answers, rejects with {@link RedisConnectionError}
 * when it refuses our credentials or stays unreachable for `timeout` ms (the client is closed).
 */
export async function connect(config: ConnectionConfig, what: string, timeout: number, extra: RedisOptions = {}): Promise<Redis> {
  const client = new Redis({ ...BASE, ...config.options, ...extra });
  let last: unknown;
  const onError = (error: unknown): void => {
    last = error;
  };
  client.on('error', onError);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new RedisConnectionError(
            `${what}: Redis at ${config.label} did not answer within ${timeout} ms${last instanceof Error ? ` (${scrub(last.message, config)})` : ''}; start redis-server there, or pass the right connection (or REDIS_URL)`,
            'unreachable',
          ),
        );
      }, timeout);
      const fail = (error: unknown): void => {
        if (!isAuthError(error)) return;
        clearTimeout(timer);
        reject(
          new RedisConnectionError(
            `${what}: Redis at ${config.label} refused the credentials (${scrub(error instanceof Error ? error.message : String(error), config)}); check the user and password in the connection`,
            'auth',
          ),
        );
      };
      client.on('error', fail);
      client.once('ready', () => {
        clearTimeout(timer);
        client.off('error', fail);
        resolve();
      });
      client.connect().catch(fail);
    });
  } catch (error) {
    client.disconnect();
    throw error;
  }
  return client;
}

/** A client for BullMQ's own use: same options, not yet connected (BullMQ connects it). */
export function bullClient(config: ConnectionConfig, extra: RedisOptions = {}): Redis {
  return new Redis({ ...BASE, ...config.options, lazyConnect: false, ...extra });
}
