/** Queue, Lock, Semaphore and Event across machines, on plain Redis commands. */
export {};
