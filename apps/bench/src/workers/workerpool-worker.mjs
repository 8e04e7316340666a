// The worker script workerpool needs: registers the no-op task and the cpu cases' hash.
import workerpool from 'workerpool';
import hash from './hash-task.mjs';

workerpool.worker({
  noop() {
    return null;
  },
  hash,
});
