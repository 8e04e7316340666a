/**
 * Pool under faults: many tasks that return, throw, exit(1), throw from a timer, hang past their
 * timeout, run until aborted, or (on processes) wait to have their worker killed from outside.
 *
 * The contract (README, and the fix for held tasks): a task that throws rejects its own promise
 * and its worker stays; a worker that dies rejects only the task it was running with
 * WorkerExitError (an uncaught error may reject it with its TaskError instead); the tasks it held
 * and had not started run elsewhere, exactly once; a task that finished but whose result was lost
 * with its worker is rejected, never run twice; an aborted or timed-out task rejects at once.
 * Each task logs its start to a file of its worker's own, so the checks are:
 * every task settles, once; none starts twice; each settles as its behaviour allows; a task
 * rejected with WorkerExitError or TaskError had started; a task that resolved had started and
 * ended; nothing is rejected with PoolClosedError; close() then lets every worker go.
 */
import { AbortError, Pool, TaskError, TimeoutError, WorkerExitError } from '@threadkit/node';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readLines } from '../log.js';
import { TIMED_OUT, type Ctx } from '../scenario.js';
import { taskModuleOf } from '../tasks.js';
import type { Behavior } from '../tasks/pool.js';

const tasks = taskModuleOf<typeof import('../tasks/pool.js')>('pool');

interface Task {
  readonly id: number;
  readonly behavior: Behavior;
  /** How it is cancelled: by a timeout, by aborting its signal, or not at all. */
  readonly cancel: 'timeout' | 'abort' | 'none';
  outcome?: { ok: true; value: unknown } | { ok: false; error: unknown };
  settlements: number;
}

export async function poolScenario(ctx: Ctx): Promise<void> {
  const rng = ctx.rng;
  const size = rng.int(1, 3);
  const abortGrace = rng.pick([50, 200, 500]);
  const maxTasksPerChild = rng.chance(0.3) ? rng.int(2, 6) : undefined;
  const pool = new Pool({ kind: ctx.kind, size, abortGrace, ...(maxTasksPerChild ? { maxTasksPerChild } : {}) });
  ctx.note(`Pool of ${size} ${ctx.kind}s, abortGrace ${abortGrace}${maxTasksPerChild ? `, maxTasksPerChild ${maxTasksPerChild}` : ''}`);
  const n = rng.int(25, 60);
  const weights: Record<Behavior | 'abortable', number> = {
    ok: 35,
    slow: 10,
    busy: 8,
    throw: 8,
    exit: 6,
    uncaught: 3,
    hang: 4,
    cooperate: 5,
    abortable: 6,
    victim: ctx.kind === 'process' ? 5 : 0,
  };
  const list: Task[] = [];
  const settled: Promise<void>[] = [];
  const kills: Promise<void>[] = [];

  const logsFor = (id: number): { starts: number; ends: number; victimPid: number | undefined } => {
    let starts = 0;
    let ends = 0;
    let victimPid: number | undefined;
    for (const name of readdirSync(ctx.dir)) {
      if (!name.startsWith('pool-')) continue;
      for (const line of readLines(join(ctx.dir, name))) {
        const [word, idText, pid] = line.split(' ');
        if (Number(idText) !== id) continue;
        if (word === 'start') starts++;
        else if (word === 'end') ends++;
        else if (word === 'victim') victimPid = Number(pid);
      }
    }
    return { starts, ends, victimPid };
  };

  for (let id = 1; id <= n; id++) {
    const pick = rng.weighted(weights);
    const behavior: Behavior = pick === 'abortable' ? rng.pick(['ok', 'slow'] as const) : pick;
    const cancel = pick === 'hang' ? 'timeout' : pick === 'cooperate' || pick === 'abortable' ? 'abort' : 'none';
    const task: Task = { id, behavior, cancel, settlements: 0 };
    list.push(task);
    const controller = cancel === 'abort' ? new AbortController() : undefined;
    const options = cancel === 'timeout' ? { timeout: rng.int(10, 300) } : controller ? { signal: controller.signal } : undefined;
    const promise = pool.apply(tasks.job, [ctx.dir, id, behavior, rng.int(1, 30)], options);
    settled.push(
      promise.then(
        (value) => {
          task.settlements++;
          task.outcome ??= { ok: true, value };
        },
        (error: unknown) => {
          task.settlements++;
          task.outcome ??= { ok: false, error };
        },
      ),
    );
    if (controller) {
      const delay = rng.int(0, 300);
      kills.push(ctx.sleep(delay).then(() => controller.abort(new Error(`aborted after ${delay} ms`))));
    }
    if (behavior === 'victim') {
      const signal = rng.pick(['SIGKILL', 'SIGTERM'] as const);
      kills.push(
        (async () => {
          // A handshake: the task has logged that it runs, and in which process.
          let pid: number | undefined;
          const seen = await ctx.until(`task ${id} (victim) starts`, () => task.outcome !== undefined || (pid = logsFor(id).victimPid) !== undefined);
          if (seen && pid !== undefined && task.outcome === undefined) {
            process.kill(pid, signal);
            ctx.count(`kills.${signal}`);
          }
        })(),
      );
    }
    if (rng.chance(0.15)) await ctx.sleep(rng.int(0, 40));
  }

  if ((await ctx.within(Promise.all(settled), `all ${n} tasks settle`)) === TIMED_OUT) {
    const unsettled = list.filter((t) => t.outcome === undefined).map((t) => `${t.id} (${t.behavior})`);
    ctx.fail(`tasks never settled: ${unsettled.join(', ')}`);
  }
  await ctx.within(Promise.all(kills), 'kills and aborts');
  await ctx.within(pool.close(), 'pool.close() once every task has settled');

  for (const task of list) {
    const { id, behavior, cancel, outcome } = task;
    const { starts, ends } = logsFor(id);
    const what = `task ${id} (${behavior}${cancel !== 'none' ? `, ${cancel}` : ''})`;
    ctx.check(task.settlements <= 1, `${what} settled ${task.settlements} times`);
    ctx.check(starts <= 1, `${what} ran ${starts} times`);
    if (!outcome) continue;
    const error = outcome.ok ? undefined : outcome.error;
    const name = error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
    ctx.count(outcome.ok ? 'resolved' : `rejected.${error instanceof Error ? error.constructor.name : 'other'}`);
    if (outcome.ok) {
      ctx.check(outcome.value === id, `${what} resolved with ${String(outcome.value)}`);
      ctx.check(starts === 1 && ends === 1, `${what} resolved, yet logged ${starts} starts and ${ends} ends`);
      ctx.check(['ok', 'slow', 'busy'].includes(behavior), `${what} resolved`);
      continue;
    }
    if (error instanceof WorkerExitError || (error instanceof TaskError && cancel === 'none')) {
      // Only the task a worker was running when it died fails with it (held ones run elsewhere).
      ctx.check(starts === 1, `${what} never started, yet was rejected: ${name}`);
    }
    const allowed =
      cancel === 'timeout'
        ? error instanceof TimeoutError
        : cancel === 'abort'
          ? error instanceof AbortError
          : behavior === 'throw'
            ? error instanceof TaskError && /throws/.test(error.message)
            : behavior === 'exit' || behavior === 'victim'
              ? error instanceof WorkerExitError
              : behavior === 'uncaught'
                ? error instanceof TaskError || error instanceof WorkerExitError
                : // It finished, but its worker died before the result came back.
                  error instanceof WorkerExitError;
    ctx.check(allowed, `${what} was rejected with ${name}`);
    if (behavior === 'exit' && error instanceof WorkerExitError)
      ctx.check(error.exitCode === 1, `${what}: WorkerExitError with exitCode ${error.exitCode}, not 1`);
  }
  const stats = pool.stats();
  ctx.check(stats.submitted === n, `stats().submitted is ${stats.submitted}, ${n} tasks were submitted`);
  ctx.check(stats.queued === 0 && stats.running === 0, `after close(): stats() says ${stats.queued} queued and ${stats.running} running`);
}
