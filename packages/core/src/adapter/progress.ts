/**
 * Progress cells. A pool must know, when a process worker dies, which of the tasks it held had
 * started: a message sent before each start would tell it, at the cost of one IPC message per
 * task. A number the worker writes where the parent can read it after the worker is gone (a file
 * both hold open, not a message that can die in the worker's buffers) costs one write.
 *
 * The cell is a temporary file the parent makes and unlinks at once, and hands to the child as
 * an extra file descriptor ({@link CELL_FD}, named by {@link progressArg}): no path to clean up,
 * and no permission needed in the child to write to it.
 */

const PROGRESS_ARG = '--threadkit-progress=';

/** The child's file descriptor for its progress cell: the stdio slot after the IPC channel's (fd 3). */
export const CELL_FD = 4;

/** The argument that tells a child process's worker entry the file descriptor of its progress cell. */
export function progressArg(fd: number): string {
  if (!Number.isSafeInteger(fd) || fd < 3) throw new RangeError(`progressArg: a progress cell is a file descriptor from 3 up, got ${String(fd)}`);
  return `${PROGRESS_ARG}${fd}`;
}

/** The progress cell's file descriptor that {@link progressArg} put among `args`, if any. */
export function progressFrom(args: readonly string[]): number | undefined {
  const arg = args.find((a) => a.startsWith(PROGRESS_ARG));
  if (arg === undefined) return undefined;
  const fd = Number(arg.slice(PROGRESS_ARG.length));
  return Number.isSafeInteger(fd) && fd >= 3 ? fd : undefined;
}

/** The part of `node:fs` (Node's, Bun's or Deno's) the parent side of a progress cell uses. */
export interface CellFiles {
  openSync(path: string, flags: 'wx+', mode: number): number;
  unlinkSync(path: string): void;
  closeSync(fd: number): void;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
}

/** A progress cell, as the parent holds it. */
export interface ProgressCell {
  /** The parent's file descriptor, to hand to the child as its {@link CELL_FD}. */
  readonly fd: number;
  /** The last count the child wrote (0 before it wrote any); readable after the child is gone, SIGKILL included. */
  read(): number;
  /** Closes the parent's descriptor (and removes the file, where it could not be unlinked while open). */
  close(): void;
}

let cells = 0;

/**
 * Parent side: a new progress cell in the directory `dir` (a temporary one), unlinked at once so
 * nothing is left behind; `undefined` where no file can be made there.
 * @example const cell = openCell(fs, tmpdir(), process.pid);
 */
export function openCell(files: CellFiles, dir: string, pid: number): ProgressCell | undefined {
  const path = `${dir}/threadkit-${pid}-${++cells}-${Math.random().toString(36).slice(2)}`;
  let fd: number;
  try {
    fd = files.openSync(path, 'wx+', 0o600);
  } catch {
    return undefined;
  }
  let left: string | undefined;
  try {
    files.unlinkSync(path);
  } catch {
    left = path; // Windows: removed once closed
  }
  const bytes = new Uint8Array(4);
  const view = new DataView(bytes.buffer);
  return {
    fd,
    read: () => (files.readSync(fd, bytes, 0, 4, 0) === 4 ? view.getInt32(0, true) : 0),
    close: () => {
      try {
        files.closeSync(fd);
        if (left) files.unlinkSync(left);
      } catch {}
    },
  };
}

/** `node:fs`'s `writeSync`, as the child side of a progress cell uses it. */
export type CellWrite = (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) => number;

/**
 * Child side: the worker scope's `progress` (see core's `WorkerScope.progress`) for the cell that
 * {@link progressArg} put among `args`, or `undefined` where the parent gave none. It returns false
 * when the write failed (the worker then tells its parent by message instead).
 * @example const progress = cellWriter(process.argv.slice(2), writeSync);
 */
export function cellWriter(args: readonly string[], write: CellWrite): ((count: number) => boolean) | undefined {
  const fd = progressFrom(args);
  if (fd === undefined) return undefined;
  const bytes = new Uint8Array(4);
  const view = new DataView(bytes.buffer);
  return (count) => {
    view.setInt32(0, count, true);
    try {
      return write(fd, bytes, 0, 4, 0) === 4;
    } catch {
      return false;
    }
  };
}
