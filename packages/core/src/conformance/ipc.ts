/**
 * The conformance suite's IPC section: Queue, JoinableQueue, SimpleQueue and Pipe between the
 * main thread and workers, on each transport.
 */
import {
  DataCloneError,
  EOFError,
  Event,
  JoinableQueue,
  Pipe,
  Queue,
  QueueClosedError,
  QueueEmptyError,
  QueueFullError,
  Semaphore,
  SimpleQueue,
  TimeoutError,
  taskModule,
  type Transport,
  type WorkerKind,
} from '../index.js';
import { PATIENCE_MS, kindName, spawner, tasks, underTransport } from './helpers.js';
import { deepEqual, equal, match, ok, rejects, throws } from './assert.js';
import type { TestApi } from './index.js';

const faultTasks = taskModule<typeof import('./fixtures/fault-tasks.js')>(new URL('./fixtures/fault-tasks.js', import.meta.url));

type Item = { producer: number; seq: number };

/** Checks that items from several producers arrived exactly once and, per consumer, in each producer's order. */
export function checkExactlyOnce(perConsumer: readonly (readonly Item[])[], producers: number, count: number): void {
  const seen = new Set<string>();
  for (const got of perConsumer) {
    const last = new Map<number, number>();
    for (const { producer, seq } of got) {
      const key = `${producer}:${seq}`;
      ok(!seen.has(key), `item ${key} arrived twice`);
      seen.add(key);
      ok((last.get(producer) ?? -1) < seq, `producer ${producer}'s items arrived out of order (${seq} after ${last.get(producer)})`);
      last.set(producer, seq);
    }
  }
  equal(seen.size, producers * count, 'every item arrived');
}

/** Registers the IPC tests for one worker kind on one transport. */
export function ipcSuite(t: TestApi, kind: WorkerKind, transport: Transport): void {
  const Kind = kindName(kind);
  const spawn = spawner(kind);
  const under = underTransport(transport);

  t.describe(`Queue with a ${Kind}, ${transport} transport`, () => {
    t.it('is FIFO; qsize, empty and full tell its state; Nowait forms throw QueueFullError and QueueEmptyError', async () => {
      const q = under(() => new Queue<number>({ maxsize: 2 }));
      equal(q.empty(), true);
      await q.put(1);
      q.putNowait(2);
      equal(q.qsize(), 2);
      equal(q.full(), true);
      throws(() => q.putNowait(3), QueueFullError, /it is full/);
      await rejects(q.put(3, { timeout: 20 }), QueueFullError, /after waiting 20 ms/);
      await rejects(q.put(3, { block: false }), QueueFullError);
      equal(await q.get(), 1);
      equal(q.getNowait(), 2);
      throws(() => q.getNowait(), QueueEmptyError, /it is empty/);
      await rejects(q.get({ timeout: 20 }), QueueEmptyError, /after waiting 20 ms/);
      equal(q.maxsize, 2);
    });

    t.it('refuses bad options with a clear error', async () => {
      throws(() => under(() => new Queue({ maxsize: -1 })), RangeError, /maxsize must be an integer >= 0 \(0 is unbounded\), got `-1`/);
      throws(() => under(() => new Queue({ maxsize: 1.5 })), RangeError, /got `1\.5`/);
      throws(() => under(() => new Queue({ bytes: 3 })), RangeError, /bytes must be an integer from 64/);
      const q = under(() => new Queue(3));
      equal(q.maxsize, 3, 'Queue(3) as in the seed');
      await rejects(q.get({ timeout: -1 }), RangeError, /timeout must be a number of milliseconds >= 0, got -1/);
      await rejects(q.put(1, { timeout: Number.NaN }), RangeError, /got NaN/);
    });

    t.it('carries structured-clone values; names what cannot be sent', async () => {
      const q = under(() => new Queue());
      const value = {
        id: 1,
        text: '歌曲1 🎵',
        when: new Date(7),
        map: new Map([[1, new Set(['a'])]]),
        big: 10n ** 20n,
        bytes: new Float64Array([1.5, -0]),
        err: new RangeError('r'),
      };
      await q.put(value);
      const back = (await q.get()) as typeof value;
      deepEqual({ ...back, err: undefined }, { ...value, err: undefined });
      equal(back.err.name, 'RangeError');
      const error = await rejects(q.put({ title: 'x', cb: () => 1 }), DataCloneError, /item\.cb: function/);
      equal((error as DataCloneError).path, 'item.cb');
      await rejects(q.put({ inner: under(() => new Queue()) }), DataCloneError, /cannot travel inside a queue item .*pass it to the thread or process in args/);
      equal(q.qsize(), 0, 'nothing half-put');
    });

    t.it('refuses an item larger than its memory clearly, and keeps working', async () => {
      const q = under(() => new Queue<Uint8Array>({ bytes: 1024 }));
      await rejects(q.put(new Uint8Array(4096)), RangeError, /larger than the ring .*larger \{ bytes \}/);
      await q.put(new Uint8Array(512).fill(7));
      equal((await q.get())[511], 7);
    });

    t.it('takes 16 items of 64 KiB by default without a consumer, and gives them back whole and in order', async () => {
      const q = under(() => new Queue<Uint8Array>());
      const item = new Uint8Array(64 * 1024);
      for (let i = 0; i < 16; i++) q.putNowait(item.fill(i));
      for (let i = 0; i < 16; i++) {
        const got = await q.get();
        equal(got.length, 64 * 1024);
        equal(got[0] === i && got[64 * 1024 - 1] === i, true, `item ${i} came back whole`);
      }
      equal(q.qsize(), 0);
    });

    t.it('close(): put throws QueueClosedError, get drains then throws it, for await ends', async () => {
      const q = under(() => new Queue<number>());
      await q.put(1);
      await q.put(2);
      q.close();
      await rejects(q.put(3), QueueClosedError, /it is closed/);
      equal(await q.get(), 1);
      const rest: number[] = [];
      for await (const x of q) rest.push(x);
      deepEqual(rest, [2]);
      await rejects(q.get(), QueueClosedError, /closed and empty/);
      equal(q.closed, true);
    });

    t.it(`E8: producers and consumers in ${Kind.toLowerCase()}es over Queue(3): every item exactly once, each producer's in order`, async () => {
      const q = under(() => new Queue<Item>({ maxsize: 3 }));
      const producers = [0, 1, 2].map((p) => spawn({ target: tasks.produce, args: [q, p, 60] }));
      const consumers = [0, 1, 2].map(() => spawn({ target: tasks.consume, args: [q] }));
      deepEqual(await Promise.all(producers.map((p) => p.result())), [60, 60, 60]);
      q.close();
      checkExactlyOnce((await Promise.all(consumers.map((c) => c.result()))) as Item[][], 3, 60);
    });

    t.it('the main thread consumes what workers produce, and the reverse', async () => {
      const q = under(() => new Queue<Item>({ maxsize: 5 }));
      const producer = spawn({ target: tasks.produce, args: [q, 9, 40] });
      const got: Item[] = [];
      for (let i = 0; i < 40; i++) got.push(await q.get({ timeout: PATIENCE_MS }));
      checkExactlyOnce([got], 1, 40);
      await producer.join();
      const back = spawn({ target: tasks.take, args: [q, 3, PATIENCE_MS] });
      for (let seq = 0; seq < 3; seq++) await q.put({ producer: 0, seq });
      checkExactlyOnce([(await back.result()) as Item[]], 1, 3);
    });

    t.it('what a worker put before it sets an Event is there for whoever wakes on the Event', async () => {
      const [q, done] = under(() => [new Queue<number>(), new Event()] as const);
      const w = spawn({ target: tasks.putThenSet, args: [q, done, 20] });
      equal(await done.wait({ timeout: PATIENCE_MS }), true);
      const got: number[] = [];
      for (let i = 0; i < 20; i++) got.push(q.getNowait());
      deepEqual(
        got,
        Array.from({ length: 20 }, (_, i) => i),
      );
      await w.terminate();
    });

    t.it('close() right after puts that wait for room: consumers still get every item', async () => {
      const q = under(() => new Queue<string>({ bytes: 64 * 1024 }));
      const consumers = [0, 1].map(() => spawn({ target: tasks.countUntilClosed, args: [q] }));
      for (let i = 0; i < 40; i++) await q.put('x'.repeat(15_000));
      q.close();
      const counts = (await Promise.all(consumers.map((c) => c.result()))) as number[];
      equal(counts[0]! + counts[1]!, 40);
    });

    t.it(`a consumer ${Kind.toLowerCase()} terminated while waiting loses nothing`, async () => {
      const [q, waiting] = under(() => [new Queue<number>(), new Semaphore(0)] as const);
      const consumer = spawn({ target: tasks.takeSignalled, args: [q, 1, waiting] });
      equal(await waiting.acquire({ timeout: PATIENCE_MS }), true, 'the consumer waits in get()');
      await consumer.terminate();
      await q.put(42);
      equal(await q.get({ timeout: PATIENCE_MS }), 42);
    });

    if (kind === 'thread' && transport === 'shared') {
      t.it('a thread terminated inside a put or get does not leave the queue locked', async () => {
        const [q, holding] = under(() => [new Queue<number>(), new Event()] as const);
        await q.put(1);
        const w = spawn({ target: tasks.holdQueueMutex, args: [q, holding] });
        equal(await holding.wait({ timeout: PATIENCE_MS }), true);
        await w.terminate();
        await q.put(2);
        deepEqual([await q.get(), await q.get()], [1, 2]);
      });
    }

    if (kind === 'thread' && transport === 'shared') {
      for (const Q of [Queue, JoinableQueue]) {
        t.it(`${Q.name}: a thread terminated with puts it never published gives back what they reserved`, async () => {
          // Room in bytes for 2 items of 1500 bytes; a thread's outbox holds back at most the ring's
          // bytes, 3 more: 5 puts return, and 3 of them wait in the outbox when the producer dies.
          const [q, done] = under(() => [new Q<Uint8Array>({ maxsize: 8, bytes: 4096 }), new Event()] as const);
          const producer = spawn({ target: faultTasks.putUnpublished, args: [q, 5, 1500, done] });
          equal(await done.wait({ timeout: PATIENCE_MS }), true, 'the producer put 5');
          await producer.terminate();
          let got = 0;
          while (!q.empty()) {
            q.getNowait();
            if (q instanceof JoinableQueue) q.taskDone();
            got++;
          }
          equal(got, 2, 'the items that fitted arrived; the others died unpublished with their thread');
          equal(q.qsize(), 0, 'their slots came back');
          for (let i = 0; i < 8; i++) q.putNowait(new Uint8Array(8));
          equal(q.full(), true, 'the whole maxsize is there again');
          if (q instanceof JoinableQueue) {
            for (let i = 0; i < 8; i++) {
              await q.get();
              q.taskDone();
            }
            await q.join({ timeout: PATIENCE_MS });
          }
        });
      }
    }

    t.it('an aborted get() rejects and takes nothing', async () => {
      const q = under(() => new Queue<number>());
      const controller = new (globalThis as unknown as { AbortController: new () => { signal: never; abort(reason?: unknown): void } }).AbortController();
      const waiting = q.get({ signal: controller.signal });
      controller.abort(new Error('no more'));
      await rejects(waiting, Error, /aborted: no more/);
      await q.put(1);
      equal(q.qsize(), 1);
    });

    t.it('JoinableQueue: join() waits until every item is marked done; an extra taskDone() throws', async () => {
      const q = under(() => new JoinableQueue<number>());
      for (let i = 1; i <= 5; i++) await q.put(i);
      const worker = spawn({ target: tasks.joinableWork, args: [q, 5] });
      await q.join({ timeout: PATIENCE_MS });
      equal(await worker.result(), 15);
      throws(() => q.taskDone(), RangeError, /called more times than there were items put/);
      await q.put(6);
      await rejects(q.join({ timeout: 20 }), TimeoutError, /1 items are still unfinished/);
    });

    t.it('SimpleQueue: put, get, empty', async () => {
      const q = under(() => new SimpleQueue<string>());
      await q.put('a');
      equal(q.empty(), false);
      const w = spawn({ target: tasks.take, args: [q, 1] });
      deepEqual(await w.result(), ['a']);
      equal(q.empty(), true);
    });
  });

  t.describe(`Pipe with a ${Kind}, ${transport} transport`, () => {
    t.it(`E7: a duplex pipe between two ${Kind.toLowerCase()}es`, async () => {
      const [a, b] = under(() => Pipe());
      const p1 = spawn({ target: tasks.pipeProc1, args: [a] });
      const p2 = spawn({ target: tasks.pipeProc2, args: [b] });
      equal(await p1.result(), 'hello, too');
      equal(await p2.result(), 'hello');
    });

    t.it('the main thread talks to a worker; messages keep their order and types', async () => {
      const [a, b] = under(() => Pipe());
      const echo = spawn({ target: tasks.echoUntilEOF, args: [b] });
      const sent = [1, 'two', { three: [3] }, new Map([[4, 4]]), new Uint8Array(64 * 1024).fill(5)];
      for (const m of sent) a.send(m);
      const back: unknown[] = [];
      for (let i = 0; i < sent.length; i++) back.push(await a.recv({ timeout: PATIENCE_MS }));
      deepEqual(back, sent);
      a.close();
      equal(await echo.result(), sent.length);
    });

    t.it('recv() after the other end closed gets what was sent, then EOFError', async () => {
      const [a, b] = under(() => Pipe());
      const sender = spawn({ target: tasks.sendAll, args: [b, ['x', 'y']] });
      await sender.join();
      equal(await a.recv(), 'x');
      equal(await a.poll(), true);
      equal(await a.recv(), 'y');
      await rejects(a.recv(), EOFError, /the other end is closed/);
      throws(() => a.send('z'), EOFError, /the other end is closed/);
    });

    t.it(`recv() gets EOFError when the ${Kind.toLowerCase()} holding the other end is terminated`, async () => {
      const [[a, b], waiting] = under(() => [Pipe(), new Semaphore(0)] as const);
      const holder = spawn({ target: tasks.recvForever, args: [b, waiting] });
      equal(await waiting.acquire({ timeout: PATIENCE_MS }), true, 'the holder waits in recv()');
      const pending = a.recv({ timeout: PATIENCE_MS });
      await holder.terminate();
      await rejects(pending, EOFError);
    });

    t.it('one-way pipes refuse the wrong direction; closed ends refuse everything', async () => {
      const [reader, writer] = under(() => Pipe({ duplex: false }));
      throws(() => reader.send(1), Error, /receiving end of a one-way pipe/);
      await rejects(writer.recv(), Error, /sending end of a one-way pipe/);
      const w = spawn({ target: tasks.recvAll, args: [reader] });
      writer.send('only way');
      writer.close();
      deepEqual(await w.result(), ['only way']);
      throws(() => writer.send(2), Error, /it is closed/);
      throws(() => Pipe({ duplex: 'yes' as never }), TypeError, /duplex must be a boolean/);
    });

    t.it('recv(timeout) throws TimeoutError; poll(timeout) waits for a message', async () => {
      const [a, b] = under(() => Pipe());
      await rejects(a.recv({ timeout: 30 }), TimeoutError, /nothing arrived within 30 ms/);
      equal(await a.poll(), false);
      equal(await a.poll(30), false);
      const later = a.poll(PATIENCE_MS);
      b.send('now');
      equal(await later, true);
      equal(await a.recv(), 'now');
    });

    t.it('messages sent beyond the pipe memory arrive even though the sender has returned', async () => {
      const [a, b] = under(() => Pipe({ bytes: 1024 }));
      const sender = spawn({ target: tasks.sendMany, args: [b, 50, 100] });
      const got: unknown[] = [];
      for await (const m of a) got.push(m);
      equal(got.length, 50);
      equal(await sender.result(), 50);
    });

    t.it('a burst larger than the pipe memory arrives whole and in order', async () => {
      const [a, b] = under(() => Pipe({ bytes: 1024 }));
      const reader = spawn({ target: tasks.recvAll, args: [b] });
      const sent = Array.from({ length: 300 }, (_, i) => ({ i, text: `message ${i}` }));
      for (const m of sent) a.send(m);
      a.close();
      deepEqual(await reader.result(), sent);
      match(String(throwsOf(() => a.send(1))), /closed/);
    });
  });
}

function throwsOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}
