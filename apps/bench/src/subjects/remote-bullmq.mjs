// Plain BullMQ in the remote scenario, the way its documentation has it: a Queue here, a Worker
// process (src/workers/bullmq-worker.mjs, concurrency 50, the job run in its main thread), and
// answers through QueueEvents (`job.waitUntilFinished(queueEvents)`, or its `completed` events).
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { poolThroughput } from '../lib/pool.mjs';
import { bullmqWorker, failover, killAll, queueName, redisAvailable, redisUrl, roundTrips } from '../lib/redis.mjs';

/**
 * Runs `body({ queue, events, procs })` with a fresh queue, a QueueEvents already listening (when
 * `events`), and `workers` worker processes, then closes and kills them all.
 */
async function withQueue({ workers = 1, events = true, worker = {}, eventsMaxLen } = {}, body) {
  const url = await redisUrl();
  const name = queueName('bullmq');
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection, ...(eventsMaxLen ? { streams: { events: { maxLen: eventsMaxLen } } } : {}) });
  queue.setMaxListeners(0); // waitUntilFinished adds a 'closing' listener per waiting job
  queue.on('error', () => {});
  await queue.waitUntilReady();
  let queueEvents;
  let eventsConnection;
  const procs = [];
  try {
    if (events) {
      eventsConnection = new Redis(url, { maxRetriesPerRequest: null });
      queueEvents = new QueueEvents(name, { connection: eventsConnection });
      queueEvents.setMaxListeners(0);
      queueEvents.on('error', () => {});
      await queueEvents.waitUntilReady();
    }
    for (let i = 0; i < workers; i++) procs.push(await bullmqWorker(url, name, worker));
    return await body({ queue, events: queueEvents, procs });
  } finally {
    await killAll(procs);
    await queueEvents?.close().catch(() => {});
    await queue.close().catch(() => {});
    connection.disconnect();
    eventsConnection?.disconnect();
  }
}

/** Request and answer: add the job, then wait for its `completed` event. Jobs are kept once completed, as waitUntilFinished needs. */
const call = async (queue, events, name, data) => (await queue.add(name, data, { removeOnComplete: false, removeOnFail: false })).waitUntilFinished(events);

const common = { scenario: 'remote', available: redisAvailable };

export default [
  {
    ...common,
    name: 'BullMQ, waitUntilFinished',
    cases: ['apply', 'roundtrip'],
    order: 10,
    note: "`await (await queue.add('noop', {})).waitUntilFinished(queueEvents)` per task (completed jobs kept: waitUntilFinished looks a finished job up if its event came first). apply: N at once, `Promise.all`. roundtrip: N in a row, the median round trip of the run",
    run: ({ case: kase, n, warmup }) =>
      withQueue({}, ({ queue, events }) => {
        const submit = () => call(queue, events, 'noop', {});
        return kase === 'apply' ? poolThroughput(submit, { n, warmup }) : roundTrips(submit, { n, warmup });
      }),
  },
  {
    ...common,
    name: 'BullMQ sandboxed, waitUntilFinished',
    cases: ['apply', 'roundtrip'],
    order: 15,
    note: "as `BullMQ, waitUntilFinished`, its worker's processor a file run in worker threads (BullMQ's sandboxed processors, `useWorkerThreads: true`): the peer of threadkit's default workers, whose tasks run in a local pool's thread",
    run: ({ case: kase, n, warmup }) =>
      withQueue({ worker: { sandboxed: true } }, ({ queue, events }) => {
        const submit = () => call(queue, events, 'noop', {});
        return kase === 'apply' ? poolThroughput(submit, { n, warmup }) : roundTrips(submit, { n, warmup });
      }),
  },
  {
    ...common,
    name: 'BullMQ, fire and forget',
    cases: ['apply'],
    order: 20,
    note: "`queue.add('noop', {}, { removeOnComplete: true })` N times at once, timed until the worker process has completed all N (it counts its `completed` events and tells the caller over IPC); no caller learns any answer",
    run: ({ n, warmup }) =>
      withQueue({ events: false }, async ({ queue, procs: [worker] }) => {
        let added = 0;
        const batch = async (k) => {
          added += k;
          const done = new Promise((resolve) => worker.child.once('message', resolve));
          worker.child.send({ until: added });
          await Promise.all(Array.from({ length: k }, () => queue.add('noop', {}, { removeOnComplete: true, removeOnFail: true })));
          await done;
        };
        await batch(warmup);
        const t0 = performance.now();
        await batch(n);
        return (n * 1000) / (performance.now() - t0);
      }),
  },
  {
    ...common,
    name: 'BullMQ, one job per item',
    cases: ['map'],
    order: 10,
    note: "one job per item, `queue.addBulk([{ name: 'double', data: { x } }, …])` of all the items, their results collected from QueueEvents' `completed` events (the event stream's maxLen raised so that none is trimmed away); over 20 000 items (and 1000 untimed first), not 200 000",
    run: ({ n, perItem, perItemWarmup }) =>
      withQueue({ eventsMaxLen: 1_000_000 }, async ({ queue, events }) => {
        const mapOnce = async (count) => {
          const out = new Array(count);
          const index = new Map();
          const early = new Map(); // answers that came before addBulk told us their job's id
          let left = count;
          let settle;
          const done = new Promise((resolve) => (settle = resolve));
          const take = (i, value) => {
            out[i] = value;
            if (--left === 0) settle();
          };
          const onCompleted = ({ jobId, returnvalue }) => {
            const i = index.get(jobId);
            if (i === undefined) early.set(jobId, returnvalue);
            else take(i, returnvalue);
          };
          events.on('completed', onCompleted);
          const jobs = await queue.addBulk(
            Array.from({ length: count }, (_, x) => ({ name: 'double', data: { x }, opts: { removeOnComplete: true, removeOnFail: true } })),
          );
          for (let i = 0; i < count; i++) index.set(jobs[i].id, i);
          for (const [jobId, value] of early) if (index.has(jobId)) take(index.get(jobId), value);
          early.clear();
          await done;
          events.off('completed', onCompleted);
          if (out[count - 1] !== 2 * (count - 1)) throw new Error(`the last item's result is ${out[count - 1]}`);
        };
        await mapOnce(Math.min(perItemWarmup, n));
        const count = Math.min(perItem, n);
        const t0 = performance.now();
        await mapOnce(count);
        return { value: (count * 1000) / (performance.now() - t0), items: count };
      }),
  },
  ...[
    ['BullMQ, lockDuration 1 s', 1000, 500, 20],
    ['BullMQ, lockDuration 2 s', 2000, 1000, 30],
  ].map(([name, lockDuration, stalledInterval, order]) => ({
    ...common,
    name,
    cases: ['failover'],
    order,
    note: `two worker processes with \`lockDuration: ${lockDuration}, stalledInterval: ${stalledInterval}\` (maxStalledCount 1, the default); \`queue.add('marker', { file, ms })\`, the process running it killed as for threadkit's`,
    run: () =>
      withQueue({ workers: 2, worker: { lockDuration, stalledInterval } }, async ({ queue, events, procs }) => ({
        ...(await failover(procs, (file) => call(queue, events, 'marker', { file, ms: 1000 }))),
        lockDuration,
        stalledInterval,
      })),
  })),
];
