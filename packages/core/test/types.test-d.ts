// Type tests: checked by `tsc -p tsconfig.test.json` (part of `pnpm test`). Each
// `@ts-expect-error` fails the build if the line after it stops being an error.
import { Playlist, Process, Thread, taskModule, type TaskRef } from '../src/index.js';

const tasks = taskModule<typeof import('./fixtures/player.ts')>(new URL('file:///player.ts'));

// A task reference carries its function's type.
const ref: TaskRef<(file: string, seconds: number) => Promise<void>> = tasks.superPlayer;
void ref;

// Right arguments compile.
const t = new Thread({ target: tasks.superPlayer, args: ['歌曲1', 3] });
new Process({ target: tasks.superPlayer, args: ['视频2', 3], name: 'p', daemon: true });
new Thread({ target: (a: number, b: number) => a + b, args: [1, 2] });

// @ts-expect-error: a missing export
void tasks.superPlayr;
// @ts-expect-error: a non-function export is not a task
void tasks.VERSION;
// @ts-expect-error: a wrong argument type
new Thread({ target: tasks.superPlayer, args: ['歌曲1', '3'] });
// @ts-expect-error: a missing argument
new Thread({ target: tasks.superPlayer, args: ['歌曲1'] });
// @ts-expect-error: a wrong argument type for an inline target
new Thread({ target: (a: number) => a, args: ['x'] });

// result() is typed by the target's return type.
const count: Promise<number> = new Thread({ target: tasks.countPrimes, args: [10] }).result();
// @ts-expect-error: countPrimes returns a number, not a string
const wrong: Promise<string> = new Thread({ target: tasks.countPrimes, args: [10] }).result();
void count;
void wrong;
void t;

// Playlist.of checks each entry's args against its task.
Playlist.of([
  { title: '歌曲1', task: tasks.superPlayer, args: ['歌曲1', 3] },
  { title: 'primes', task: tasks.countPrimes, args: [1000] },
]);
Playlist.of([
  // @ts-expect-error: countPrimes takes a number
  { title: 'primes', task: tasks.countPrimes, args: ['1000'] },
]);

// Queues and pipes are typed by their items.
import { Pipe, Queue } from '../src/index.js';
const q = new Queue<{ id: number }>({ maxsize: 3 });
void q.put({ id: 1 });
// @ts-expect-error: a queue of { id: number } takes no string
void q.put('x');
const got: Promise<{ id: number }> = q.get();
void got;
// @ts-expect-error: get() resolves with the item type
const wrongItem: Promise<string> = q.get();
void wrongItem;
const [end1, end2] = Pipe({ duplex: true });
end1.send({ any: 'structured-clone value' });
void end2.recv({ timeout: 10 });
// @ts-expect-error: duplex is a boolean
Pipe({ duplex: 'yes' });
