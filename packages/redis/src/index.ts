/**
 * `@threadkit/redis`: threadkit beyond one machine. A `RemotePool` whose workers run on any
 * machine that reaches Redis, and `RemoteQueue`, `RemoteLock`, `RemoteSemaphore`, `RemoteEvent`
 * shared across them, on Redis with BullMQ.
 */
export { RedisConnectionError, TaskLostError, PayloadTooLargeError, ForeignJobError } from './errors.js';
export type { Connection, ConnectionOptions } from './connection.js';
export * from './shared/index.js';
