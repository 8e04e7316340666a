// The worker script workerpool needs: registers the no-op task.
import workerpool from 'workerpool';

workerpool.worker({
  noop() {
    return null;
  },
});
