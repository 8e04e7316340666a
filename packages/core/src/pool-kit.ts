/**
 * `@threadkit/core/pool-kit`: the parts of `Pool` that any kind of pool can reuse, for pools whose
 * workers live elsewhere (`@threadkit/redis`'s `RemotePool`). Give them a {@link ChunkSubmitter}
 * and they do `map`, `starmap`, `imap` and `imapUnordered` exactly as `Pool` does: Python's chunk
 * sizes, results in order, the first failure, abort and timeout, room in a bounded queue, and
 * reading an endless input only as far ahead as needed.
 */
export { mapAll, stream, mapItems, streamSource, mapJob, streamJob, defaultChunksize } from './pool/chunks.js';
export type { ChunkSubmitter, StopReason, MapJob, StreamJob } from './pool/chunks.js';
export { abortError, checkChunksize, APPLY_KEYS, MAP_KEYS, IMAP_KEYS } from './pool/options.js';
export { Reservoir } from './pool/stats.js';
export { checkTimeout, checkSignal, checkInteger, checkOptionsObject, describe } from './validate.js';
export { targetSpec, targetName } from './task.js';
export { reviveError } from './errors.js';
export { TASK_SIGNAL_HOST } from './pool/worker.js';
