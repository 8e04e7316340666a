/**
 * Every error threadkit throws, each with a stable `name` and `code`, and the
 * serializer that carries errors across a worker boundary.
 *
 * Structured clone turns `class MyErr extends Error` into a plain `Error` and drops
 * `code`, `cause` and custom fields, so errors never travel by structured clone:
 * {@link serializeError} turns them into plain data and {@link deserializeError}
 * rebuilds an `Error` with the same `name`, `message`, `stack`, `code` and `cause`.
 */

/** The base class of every error threadkit throws. */
export class ThreadkitError extends Error {
  /** A stable, machine-readable code, e.g. `ERR_TASK_NOT_FOUND`. */
  readonly code: string = 'ERR_THREADKIT';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The remote error a task threw (or an uncaught error inside a worker). `cause` is the rebuilt remote error; `stack` ends with the remote stack. */
export class TaskError extends ThreadkitError {
  override readonly code = 'ERR_TASK';
  /** The `name` of the remote error, e.g. `RangeError` or a custom class name. */
  readonly remoteName: string;
  /** The stack as it was inside the worker. */
  readonly remoteStack: string | undefined;
  /** The thread or process the error came from. */
  readonly threadName: string | undefined;
  constructor(remote: Error, threadName?: string) {
    super(`${remote.name}: ${remote.message}`, { cause: remote });
    this.remoteName = remote.name;
    this.remoteStack = remote.stack;
    this.threadName = threadName;
    // The local frames only show message dispatch; what matters is where it was thrown.
    this.stack = `${this.name}: ${this.message}\n    --- in ${threadName ?? 'the worker'} ---\n${remote.stack ?? '    (no stack was recorded)'}`;
  }
}

/** A task names an export the module does not have. `exports` lists what it has. */
export class TaskNotFoundError extends ThreadkitError {
  override readonly code = 'ERR_TASK_NOT_FOUND';
  constructor(
    readonly module: string,
    readonly exportName: string,
    readonly exports: readonly string[],
  ) {
    super(
      `Cannot run task: module ${module} has no exported function \`${exportName}\`; its exported functions are: ${exports.length ? exports.map((e) => `\`${e}\``).join(', ') : '(none)'}`,
    );
  }
}

/** A worker could not start: its task module failed to load, or the runtime refused to spawn it. */
export class WorkerStartError extends ThreadkitError {
  override readonly code = 'ERR_WORKER_START';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A worker ended while a task was still running in it. `exitCode` follows Python: n for `exit(n)`, negative for a signal (-15 terminate, -9 kill). */
export class WorkerExitError extends ThreadkitError {
  override readonly code = 'ERR_WORKER_EXIT';
  constructor(
    message: string,
    readonly exitCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A value cannot be sent to another thread; `path` says where it is, e.g. `args[0].cb`. */
export class DataCloneError extends ThreadkitError {
  override readonly code = 'ERR_DATA_CLONE';
  constructor(
    message: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A wait with a `timeout` ran out. */
export class TimeoutError extends ThreadkitError {
  override readonly code = 'ERR_TIMEOUT';
}

/** `recv()` on a pipe whose other end is closed and drained. */
export class EOFError extends ThreadkitError {
  override readonly code = 'ERR_EOF';
}

/** `putNowait()` (or a `put` whose timeout ran out) on a full queue. */
export class QueueFullError extends ThreadkitError {
  override readonly code = 'ERR_QUEUE_FULL';
}

/** `getNowait()` (or a `get` whose timeout ran out) on an empty queue. */
export class QueueEmptyError extends ThreadkitError {
  override readonly code = 'ERR_QUEUE_EMPTY';
}

/** `put` on a closed queue, or `get` on a closed and drained one. */
export class QueueClosedError extends ThreadkitError {
  override readonly code = 'ERR_QUEUE_CLOSED';
}

/** A `Barrier` was broken by a timeout, `abort()` or `reset()`. */
export class BrokenBarrierError extends ThreadkitError {
  override readonly code = 'ERR_BROKEN_BARRIER';
}

/** A task was given to a `Pool` after `close()` or `terminate()`, or was still pending when `terminate()` stopped the pool. */
export class PoolClosedError extends ThreadkitError {
  override readonly code = 'ERR_POOL_CLOSED';
}

/** An operation was aborted through its `AbortSignal`. */
export class AbortError extends ThreadkitError {
  override readonly code = 'ERR_ABORTED';
}

/**
 * A call made in a state that does not allow it, as Python raises `RuntimeError`: `start()` twice,
 * `join()` before `start()`, `release()` of a lock this thread does not hold, `notify()` without
 * the condition's lock, using a closed pipe end, `exit()` outside a task.
 */
export class InvalidStateError extends ThreadkitError {
  override readonly code = 'ERR_INVALID_STATE';
}

/**
 * An operation that this realm or runtime cannot do: a synchronous method on a proxy to an object
 * that lives in another process, a pipe end used the wrong way round, memory limits a runtime
 * cannot enforce. The message names what to use instead.
 */
export class UnsupportedError extends ThreadkitError {
  override readonly code = 'ERR_UNSUPPORTED';
}

// ---------------------------------------------------------------------------
// Serialization

/** An error as plain, structured-clone-safe data. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  readonly code?: unknown;
  readonly cause?: SerializedError | { readonly value: unknown };
  readonly errors?: readonly SerializedError[];
  /** Other own enumerable fields whose values are plain data. */
  readonly props?: Record<string, unknown>;
  /** The value was thrown but is not an Error (e.g. `throw 'oops'`). */
  readonly nonError?: boolean;
}

const skipped = new Set(['name', 'message', 'stack', 'code', 'cause', 'errors']);

function isPlainData(value: unknown, depth = 0): boolean {
  if (depth > 8) return false;
  if (value === null) return true;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return true;
    case 'object':
      if (Array.isArray(value)) return value.every((v) => isPlainData(v, depth + 1));
      if (value instanceof Date || value instanceof RegExp) return true;
      if (Object.getPrototypeOf(value) !== Object.prototype) return false;
      return Object.values(value).every((v) => isPlainData(v, depth + 1));
    default:
      return false;
  }
}

function describeThrown(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Turns anything thrown into plain data that survives any transport. */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (!(error instanceof Error) && !(typeof error === 'object' && error !== null && 'message' in error && 'stack' in error)) {
    return {
      name: 'Error',
      message: `A non-Error value was thrown: ${describeThrown(error)}`,
      stack: undefined,
      nonError: true,
      ...(isPlainData(error) ? { props: { value: error } } : {}),
    };
  }
  const e = error as Error & { code?: unknown; errors?: unknown };
  const out: {
    -readonly [K in keyof SerializedError]: SerializedError[K];
  } = {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: typeof e.message === 'string' ? e.message : String(e.message),
    stack: typeof e.stack === 'string' ? e.stack : undefined,
  };
  // A custom class whose constructor did not set `name` still deserves its class name.
  const ctorName = (e.constructor as { name?: unknown } | undefined)?.name;
  if (out.name === 'Error' && typeof ctorName === 'string' && ctorName !== 'Error' && ctorName !== '') {
    out.name = ctorName;
    // V8 wrote the stack's first line with the name the error had then.
    if (out.stack?.startsWith('Error: ') || out.stack === 'Error') out.stack = `${ctorName}${out.stack.slice(5)}`;
  }
  if (e.code !== undefined && isPlainData(e.code)) out.code = e.code;
  if ('cause' in e && e.cause !== undefined && depth < 8) {
    out.cause = e.cause instanceof Error ? serializeError(e.cause, depth + 1) : { value: isPlainData(e.cause) ? e.cause : describeThrown(e.cause) };
  }
  if (Array.isArray(e.errors) && depth < 8) out.errors = e.errors.map((x) => serializeError(x, depth + 1));
  const props: Record<string, unknown> = {};
  let any = false;
  for (const key of Object.keys(e)) {
    if (skipped.has(key)) continue;
    const v = (e as unknown as Record<string, unknown>)[key];
    if (isPlainData(v)) {
      props[key] = v;
      any = true;
    }
  }
  if (any) out.props = props;
  return out;
}

/** Rebuilds an `Error` from {@link serializeError}'s output: same name, message, stack, code, cause and plain fields. */
export function deserializeError(data: SerializedError): Error {
  const error = data.errors ? new AggregateError(data.errors.map(deserializeError), data.message) : new Error(data.message);
  Object.defineProperty(error, 'name', { value: data.name, writable: true, configurable: true, enumerable: false });
  if (data.stack !== undefined) error.stack = data.stack;
  else error.stack = `${data.name}: ${data.message}\n    (no stack was recorded)`;
  if (data.props) Object.assign(error, data.props);
  if (data.code !== undefined) (error as Error & { code?: unknown }).code = data.code;
  if (data.cause !== undefined) {
    const cause = 'value' in data.cause && !('message' in data.cause) ? data.cause.value : deserializeError(data.cause as SerializedError);
    Object.defineProperty(error, 'cause', { value: cause, writable: true, configurable: true, enumerable: false });
  }
  return error;
}

/** Rebuilds one of threadkit's own errors by name when it crossed a boundary, so `instanceof` keeps working; else a plain rebuilt Error. */
export function reviveError(data: SerializedError): Error {
  const plain = deserializeError(data);
  const ctor = ownErrors[data.name];
  if (!ctor) return plain;
  const revived = Object.create(ctor.prototype) as Error;
  Object.defineProperties(revived, Object.getOwnPropertyDescriptors(plain));
  return revived;
}

const ownErrors: Record<string, { prototype: object }> = {
  ThreadkitError,
  TaskError,
  TaskNotFoundError,
  WorkerStartError,
  WorkerExitError,
  DataCloneError,
  TimeoutError,
  EOFError,
  QueueFullError,
  QueueEmptyError,
  QueueClosedError,
  BrokenBarrierError,
  PoolClosedError,
  AbortError,
  InvalidStateError,
  UnsupportedError,
};
