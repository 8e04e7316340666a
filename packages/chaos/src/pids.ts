/**
 * Whether processes are still there. A process is known by its pid and its start time: pids wrap
 * around quickly on a busy machine (pid_max can be 32768), so a pid alone may by now name someone
 * else's process, which must neither count as an orphan nor be killed.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** A process: its pid and its start time (clock ticks since boot, from /proc; '' where unknown). */
export interface Proc {
  readonly pid: number;
  readonly start: string;
}

function stat(pid: number): { state: string; start: string; ppid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: the fields after it start at the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, ppid: Number(fields[1]), start: fields[19]! };
  } catch {
    return undefined;
  }
}

/** The process with this pid now, or undefined when there is none. */
export function identify(pid: number): Proc | undefined {
  const s = stat(pid);
  if (s) return s.state === 'Z' || s.state === 'X' ? undefined : { pid, start: s.start };
  // No /proc here: the pid alone.
  try {
    process.kill(pid, 0);
    return { pid, start: '' };
  } catch {
    return undefined;
  }
}

/**
 * Whether this very process is still running. A zombie has ended: an orphan is re-parented to
 * pid 1, which on some machines (containers, micro-VMs) never reaps it.
 */
export function alive(proc: Proc): boolean {
  const now = identify(proc.pid);
  return now !== undefined && (proc.start === '' || now.start === proc.start);
}

/** What a process is, for reports: its command line, or '' when unknown. */
export function describePid(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** Polls until none of `procs` is alive or `ms` pass; returns those still alive. */
export async function waitGone<P extends Proc>(procs: Iterable<P>, ms: number): Promise<P[]> {
  const all = [...procs];
  const end = Date.now() + ms;
  for (;;) {
    const left = all.filter(alive);
    if (left.length === 0 || Date.now() >= end) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGKILLs whichever of `procs` is still the same process (cleaning up after a failed check). */
export function killAll(procs: Iterable<Proc>): void {
  for (const proc of procs) {
    try {
      if (alive(proc)) process.kill(proc.pid, 'SIGKILL');
    } catch {}
  }
}

/**
 * Every process below `pid` now (children, theirs, …), read from /proc: how the harness learns
 * the pids of processes nobody reports, such as a Pool's workers. Empty where there is no /proc.
 */
export function descendants(pid: number): Proc[] {
  const out = new Map<number, Proc>();
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      let text = '';
      try {
        text = readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const word of text.split(' ')) {
        if (word.trim() === '') continue;
        const child = Number(word);
        const proc = out.has(child) ? undefined : identify(child);
        if (proc) {
          out.set(child, proc);
          queue.push(child);
        }
      }
    }
  }
  return [...out.values()];
}

/** Keeps a set of processes by pid and start time, adding what `descendants` finds under a root while it runs. */
export class Census {
  readonly #procs = new Map<string, Proc & { what: string }>();
  #timer: NodeJS.Timeout | undefined;

  /** Adds a process reported by pid (identified now). */
  add(pid: number, what: string): void {
    const proc = identify(pid);
    if (proc) this.#procs.set(`${proc.pid}@${proc.start}`, { ...proc, what });
  }

  /** Looks under `root` every `ms` until stop(). */
  watch(root: number, ms = 100): void {
    const look = (): void => {
      for (const proc of descendants(root)) {
        const key = `${proc.pid}@${proc.start}`;
        if (!this.#procs.has(key)) this.#procs.set(key, { ...proc, what: describePid(proc.pid) });
      }
    };
    look();
    this.#timer = setInterval(look, ms);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  get all(): (Proc & { what: string })[] {
    return [...this.#procs.values()];
  }
}
