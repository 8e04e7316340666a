/**
 * The parent's side of one worker, as `Thread`, `Process` and `Pool` share it: spawning it with
 * its realm tag, the channel its shared objects are reached through, the `init` it starts with,
 * the routing of what it sends, what a runtime error means before and after it is ready, and the
 * clean-up once it is gone. What the worker runs, and what its end means, is the owner's.
 */
import { EOFError, TaskError, WorkerStartError } from './errors.js';
import type { MarshalContext } from './handle.js';
import { envelope, unwrap, type FromWorker } from './protocol.js';
import { Endpoint } from './rpc.js';
import type { Runtime, SpawnOptions, WorkerHandle } from './runtime.js';
import { SharedObject } from './shared.js';
import { _allocateTag, _markDead } from './tags.js';

/** What the owner of a link hears from its worker. */
export interface LinkEvents {
  /** A message of the owner's protocol (results, failures, exits…); the link answers rpc and `ready` itself. */
  message(message: FromWorker): void;
  /** The worker said it is ready. */
  ready?(): void;
  /** The runtime reported an error outside the protocol; see {@link WorkerLink.explain}. */
  error(error: Error): void;
  /** The worker is gone (see `WorkerEvents.exit`). The owner calls {@link WorkerLink.cleanUp} when it is done with it. */
  exit(code: number | null): void;
}

/** What an error the runtime reported means: the worker did not start, it died of it, or code in it let it escape. */
export type LinkError =
  | { readonly kind: 'start'; readonly error: WorkerStartError }
  | { readonly kind: 'crash'; readonly error: Error }
  | { readonly kind: 'escaped'; readonly error: TaskError };

/** One worker and the parent's end of its channel. */
export class WorkerLink {
  readonly handle: WorkerHandle;
  /** The worker's realm tag, unique among the threads of this OS process. */
  readonly tag: number;
  /** Whether the worker shares memory with this realm (a thread, where SharedArrayBuffer exists). */
  readonly shared: boolean;
  /** Where the worker's calls to shared objects handed to it are answered. */
  readonly endpoint: Endpoint;
  /** How values sent to the worker carry shared objects. */
  readonly marshal: MarshalContext;
  /** Whether the worker said it is ready (its entry loaded and its loop runs). */
  ready = false;
  exited = false;
  /** The shared objects handed to the worker, to let go of what it held when it dies. */
  readonly #sent = new Set<object>();

  /**
   * Spawns a worker and sends it who it is. Throws what the runtime throws when it cannot spawn;
   * `events` may be called from inside this constructor (a runtime may report an exit at once).
   */
  constructor(runtime: Runtime, options: SpawnOptions, events: LinkEvents) {
    const handle = runtime.spawn(options, {
      message: (data) => this.#onMessage(data, events),
      error: (error) => events.error(error instanceof Error ? error : new Error(String(error))),
      exit: (code) => {
        if (this.exited) return;
        this.exited = true;
        events.exit(code);
      },
    });
    this.handle = handle;
    this.shared = options.kind === 'thread' && runtime.capabilities.sharedMemory;
    const { tag, counter, dead } = _allocateTag(this.shared);
    this.tag = tag;
    this.endpoint = new Endpoint((message) => handle.post(envelope(message)));
    this.marshal = { shared: this.shared, endpoint: this.endpoint, sent: this.#sent };
    this.post({ t: 'init', name: options.name, kind: options.kind, ident: handle.ident, tag, tagCounter: counter, deadTags: dead, cpus: runtime.cpuCount() });
  }

  /** Posts a protocol message; throws the runtime's DataCloneError when it cannot be cloned. */
  post(message: object, transfer?: readonly unknown[]): void {
    this.handle.post(envelope(message), transfer);
  }

  #onMessage(data: unknown, events: LinkEvents): void {
    const message = unwrap<FromWorker>(data);
    if (!message) return;
    switch (message.t) {
      case 'rpc-call':
      case 'rpc-reply':
      case 'rpc-cancel':
      case 'rpc-ack':
        this.endpoint.receive(message);
        return;
      case 'ready':
        this.ready = true;
        events.ready?.();
        return;
      default:
        events.message(message);
    }
  }

  /**
   * What an error the runtime reported means: before the worker was ready it could not start;
   * after, running out of memory (under resource limits) is its death, and anything else escaped
   * the code it ran. `name` names the worker in the messages.
   */
  explain(error: Error, name: string): LinkError {
    if (!this.ready) {
      return { kind: 'start', error: new WorkerStartError(`Cannot start ${name}: the worker failed before it was ready: ${error.message}`, { cause: error }) };
    }
    if ((error as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY') return { kind: 'crash', error };
    return { kind: 'escaped', error: new TaskError(error, name) };
  }

  /**
   * The worker is gone: its calls through the channel are cancelled (`ended` says why), its tag
   * and the tags of the threads it started are marked dead, and the shared objects it was handed
   * let go of what any of them, or a caller it served, held.
   */
  cleanUp(ended: string): void {
    const tags = _markDead(this.tag);
    for (const peer of this.endpoint.peerTags()) tags.push(peer);
    this.endpoint.close(new EOFError(ended));
    for (const obj of this.#sent) if (obj instanceof SharedObject) obj.onHolderDied(tags);
    this.#sent.clear();
  }
}
