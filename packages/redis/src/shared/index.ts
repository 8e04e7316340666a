/**
 * Queue, Lock, Semaphore and Event across machines, on plain Redis commands: `RemoteQueue`,
 * `RemoteJoinableQueue`, `RemoteLock`, `RemoteSemaphore`, `RemoteBoundedSemaphore` and
 * `RemoteEvent`, with the method names and semantics of core's `Queue`, `JoinableQueue`, `Lock`,
 * `Semaphore`, `BoundedSemaphore` and `Event`, in async forms.
 */
export { RemoteObject, type RemoteOptions } from './base.js';
export { RemoteQueue, RemoteJoinableQueue, type RemoteQueueOptions, type RemoteQueueWaitOptions, type RemoteJoinOptions } from './queue.js';
export { RemoteLock, type RemoteLockOptions, type RemoteAcquireOptions } from './lock.js';
export { RemoteSemaphore, RemoteBoundedSemaphore, type RemoteSemaphoreOptions } from './semaphore.js';
export { RemoteEvent, type RemoteEventOptions, type RemoteWaitOptions } from './event.js';
