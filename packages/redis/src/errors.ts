/**
 * The errors of `@threadkit/redis`, each with a stable `name` and `code`, on top of core's
 * (`TaskError`, `TaskNotFoundError`, `TimeoutError`, `AbortError`, `DataCloneError`…).
 */
import { ThreadkitError } from '@threadkit/core';

/**
 * Redis could not be reached, or refused us: unreachable when the pool or object started, a wrong
 * password or ACL user, a TLS failure. `reason` says which; the message never shows a credential.
 */
export class RedisConnectionError extends ThreadkitError {
  override readonly code = 'ERR_REDIS_CONNECTION';
  constructor(
    message: string,
    readonly reason: 'unreachable' | 'auth' | 'closed',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A call's task is gone without an answer: Redis restarted without the data (or evicted it), or
 * its workers died under it more often than `maxAttempts` allows (with `maxAttempts: 1`, at most
 * once, the first death already).
 */
export class TaskLostError extends ThreadkitError {
  override readonly code = 'ERR_TASK_LOST';
}

/** An argument list or a result is larger than the configured `maxPayload`; nothing was sent. */
export class PayloadTooLargeError extends ThreadkitError {
  override readonly code = 'ERR_PAYLOAD_TOO_LARGE';
  constructor(
    message: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(message);
  }
}

/** A job in a threadkit queue that threadkit did not write (another producer, damaged bytes). The worker fails that job and goes on. */
export class ForeignJobError extends ThreadkitError {
  override readonly code = 'ERR_FOREIGN_JOB';
}

/** Revives this package's errors by name after they crossed Redis, so `instanceof` works. */
export const redisErrors: Record<string, { prototype: object }> = {
  RedisConnectionError,
  TaskLostError,
  PayloadTooLargeError,
  ForeignJobError,
};
