/**
 * The connections of the shared objects in one process: per Redis (per connection config), one
 * client for commands and one subscriber for wake-ups, shared by every handle, opened on the
 * first use and closed when the last handle lets go.
 */
import type { Redis } from 'ioredis';
import { connect, type ConnectionConfig } from '../connection.js';
import { SCRIPTS, type ScriptName } from './scripts.js';

const hubs = new Map<string, Hub>();

/** A command client with the shared objects' scripts defined on it. */
export type ScriptClient = Redis & Record<ScriptName | `${ScriptName}Buffer`, (...args: (string | number | Buffer)[]) => Promise<unknown>>;

function defineScripts(client: Redis): ScriptClient {
  for (const [name, script] of Object.entries(SCRIPTS)) client.defineCommand(name, { numberOfKeys: script.keys, lua: script.lua });
  return client as ScriptClient;
}

/** One process's connections to one Redis. */
export class Hub {
  /** Takes a share of the hub of `config` (made on first use); give it back with {@link release}. */
  static take(config: ConnectionConfig): Hub {
    const key = JSON.stringify(config.options);
    let hub = hubs.get(key);
    if (!hub) {
      hub = new Hub(key, config);
      hubs.set(key, hub);
    }
    hub.#users++;
    return hub;
  }

  #users = 0;
  #client: Promise<ScriptClient> | undefined;
  #subscriber: Promise<Redis> | undefined;
  /** Listeners by channel, and each channel's SUBSCRIBE (done once per channel while it has listeners). */
  readonly #listeners = new Map<string, Set<() => void>>();
  readonly #subscribed = new Map<string, Promise<unknown>>();

  private constructor(
    readonly key: string,
    readonly config: ConnectionConfig,
  ) {}

  /** The command client, connected on the first call; rejects with `RedisConnectionError` (and tries again on the next call). */
  command(what: string, timeout: number): Promise<ScriptClient> {
    if (!this.#client) {
      const p = connect(this.config, what, timeout).then(defineScripts);
      this.#client = p;
      p.catch(() => {
        if (this.#client === p) this.#client = undefined;
      });
    }
    return this.#client;
  }

  #sub(what: string, timeout: number): Promise<Redis> {
    if (!this.#subscriber) {
      const p = connect(this.config, what, timeout).then((sub) => {
        sub.on('message', (channel: string) => {
          for (const listener of this.#listeners.get(channel) ?? []) listener();
        });
        return sub;
      });
      this.#subscriber = p;
      p.catch(() => {
        if (this.#subscriber === p) this.#subscriber = undefined;
      });
    }
    return this.#subscriber;
  }

  /** Calls `listener` on every message on `channel`, from when the returned promise resolves until the function it gives is called. */
  async listen(channel: string, listener: () => void, what: string, timeout: number): Promise<() => void> {
    const sub = await this.#sub(what, timeout);
    let set = this.#listeners.get(channel);
    if (!set) {
      set = new Set();
      this.#listeners.set(channel, set);
    }
    set.add(listener);
    let subscribed = this.#subscribed.get(channel);
    if (!subscribed) {
      subscribed = sub.subscribe(channel);
      this.#subscribed.set(channel, subscribed);
    }
    await subscribed;
    const listeners = set;
    return () => {
      listeners.delete(listener);
      if (listeners.size > 0 || this.#listeners.get(channel) !== listeners) return;
      this.#listeners.delete(channel);
      this.#subscribed.delete(channel);
      sub.unsubscribe(channel).catch(() => {});
    };
  }

  /**
   * Gives back a share; the last one closes the connections: `QUIT` (after the commands already
   * sent), or at once when Redis does not answer it within `timeout` ms (down or paused: the
   * commands still queued are dropped, and what they would have given back comes back by lease).
   */
  async release(timeout = 5_000): Promise<void> {
    if (--this.#users > 0) return;
    hubs.delete(this.key);
    const clients = [this.#client, this.#subscriber];
    this.#client = this.#subscriber = undefined;
    await Promise.all(
      clients.map(async (p) => {
        const c = await p?.catch(() => undefined);
        if (!c) return;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timeout);
        });
        await Promise.race([c.quit().catch(() => {}), late]);
        clearTimeout(timer);
        c.disconnect();
      }),
    );
  }
}
