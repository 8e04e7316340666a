import { describe, expect, it } from 'vitest';
import { MODE_APPLY } from '../src/protocol.js';
import { DONE, QUEUED, SENT, TargetTable, Task, TaskQueue, type TargetRec } from '../src/pool/task-queue.js';

const rec: TargetRec = { index: 0, spec: { kind: 'inline', source: '() => 1' } as never, name: 'one', module: undefined, perItem: -1 };
let ids = 0;
const task = (): Task => new Task(++ids, rec, MODE_APPLY, [], 1, 0);
const drainIds = (q: TaskQueue): number[] => {
  const out: number[] = [];
  for (let t = q.shift(); t; t = q.shift()) out.push(t.id);
  return out;
};

describe('TaskQueue', () => {
  it('hands tasks out first in, first out, and counts what waits', () => {
    const q = new TaskQueue();
    const tasks = [task(), task(), task()];
    for (const t of tasks) q.push(t);
    expect(q.length).toBe(3);
    expect(q.shift()).toBe(tasks[0]);
    expect(q.length).toBe(2);
    expect(drainIds(q)).toEqual([tasks[1]!.id, tasks[2]!.id]);
    expect(q.length).toBe(0);
    expect(q.shift()).toBeUndefined();
  });

  it('puts tasks that come back at the front, in their order, queued again', () => {
    const q = new TaskQueue();
    const [a, b, c, d] = [task(), task(), task(), task()];
    q.push(a!);
    q.push(b!);
    q.push(c!);
    q.push(d!);
    const sent = [q.shift()!, q.shift()!];
    for (const t of sent) {
      t.state = SENT;
      t.worker = {} as never;
    }
    q.requeue(sent);
    expect(sent.map((t) => [t.state, t.worker])).toEqual([
      [QUEUED, undefined],
      [QUEUED, undefined],
    ]);
    expect(q.length).toBe(4);
    expect(drainIds(q)).toEqual([a!.id, b!.id, c!.id, d!.id]);
  });

  it('skips a task settled while it waited; it no longer counts', () => {
    const q = new TaskQueue();
    const [a, b, c] = [task(), task(), task()];
    q.push(a!);
    q.push(b!);
    q.push(c!);
    b!.state = DONE;
    q.dropped();
    expect(q.length).toBe(2);
    expect(drainIds(q)).toEqual([a!.id, c!.id]);
  });

  it('drain() takes out only what still waits, oldest first, and leaves the queue empty', () => {
    const q = new TaskQueue();
    const tasks = Array.from({ length: 5 }, task);
    for (const t of tasks) q.push(t);
    q.shift();
    tasks[2]!.state = DONE;
    q.dropped();
    expect(q.drain()).toEqual([tasks[1], tasks[3], tasks[4]]);
    expect(q.length).toBe(0);
    expect(q.shift()).toBeUndefined();
  });

  it('stays in order across the compaction of a long queue', () => {
    const q = new TaskQueue();
    const tasks = Array.from({ length: 3000 }, task);
    for (const t of tasks) q.push(t);
    for (let i = 0; i < 2000; i++) expect(q.shift()).toBe(tasks[i]);
    const back = [tasks[1998]!, tasks[1999]!];
    q.requeue(back);
    const more = task();
    q.push(more);
    expect(q.length).toBe(1003);
    expect(drainIds(q)).toEqual([...back, ...tasks.slice(2000), more].map((t) => t.id));
  });

  it('whenRoom() resolves once a task leaves, or when drained', async () => {
    const q = new TaskQueue();
    q.push(task());
    q.push(task());
    let woken = 0;
    const first = q.whenRoom().then(() => woken++);
    await Promise.resolve();
    expect(woken).toBe(0);
    q.shift();
    await first;
    expect(woken).toBe(1);
    const second = q.whenRoom().then(() => woken++);
    q.drain();
    await second;
    expect(woken).toBe(2);
  });
});

describe('TargetTable', () => {
  it('numbers each target once, by identity and by what it names', () => {
    const table = new TargetTable();
    const add = (a: number, b: number): number => a + b;
    const first = table.get(add, 'Cannot apply');
    expect(table.get(add, 'Cannot apply')).toBe(first);
    const twin = table.get((a: number, b: number): number => a + b, 'Cannot apply');
    expect(twin.index).toBe(first.index);
    const other = table.get((a: number): number => a, 'Cannot apply');
    expect(other.index).toBe(first.index + 1);
    expect(other.perItem).toBe(-1);
  });

  it('refuses what is not a target, saying where', () => {
    const table = new TargetTable();
    expect(() => table.get(42, 'Cannot apply')).toThrow(/^Cannot apply/);
  });
});
