/**
 * `@threadkit/redis`: threadkit beyond one machine. A `RemotePool` whose workers run on any
 * machine that reaches Redis, and `RemoteQueue`, `RemoteLock`, `RemoteSemaphore`, `RemoteEvent`
 * shared across them, on Redis with BullMQ.
 */
export { RemotePool } from './remote-pool.js';
export type { RemotePoolOptions, RemoteApplyOptions, RemoteApplyRest, RemotePoolStats, RemoteWorkerStats } from './remote-pool.js';
export { remoteTasks, taskContext, reportProgress } from './tasks.js';
export type { RemoteTaskRef, RemoteTaskModule, TaskContext } from './tasks.js';
export { serve } from './serve.js';
export type { ServeOptions, Server } from './serve.js';
export { RedisConnectionError, TaskLostError, PayloadTooLargeError, ForeignJobError } from './errors.js';
export type { Connection, ConnectionOptions } from './connection.js';
export * from './shared/index.js';
