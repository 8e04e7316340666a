/**
 * Every shared object type. Importing this registers how each is rebuilt when it arrives in
 * another realm; the worker loop imports it so a worker can revive whatever it is sent.
 */
export { Lock, RLock } from './lock.js';
export type { AcquireOptions } from './lock.js';
export { Semaphore, BoundedSemaphore } from './semaphore.js';
export { Event } from './event.js';
export { Condition } from './condition.js';
export type { ConditionOptions } from './condition.js';
export { Barrier } from './barrier.js';
export type { BarrierOptions } from './barrier.js';
export { Queue, JoinableQueue, SimpleQueue } from './queue.js';
export type { QueueOptions, QueueWaitOptions } from './queue.js';
export { Pipe, Connection } from './pipe.js';
export type { PipeOptions } from './pipe.js';
