/**
 * The task modules, always as built JavaScript in dist/: a `.ts` task module costs every worker
 * about half a second on Node 20 (tsx registers itself in each one), which is most of a
 * scenario's time when it starts dozens of processes. Tests running from src/ find them too.
 */
import { taskModule, type TaskModule } from '@threadkit/node';

/** This package's dist/ directory, from src/ (under vitest) or from dist/ itself. */
export const distDir = new URL(/\/src\/$/.test(new URL('.', import.meta.url).pathname) ? '../dist/' : './', import.meta.url);

/** The typed task module dist/tasks/<name>.js. */
export function taskModuleOf<M>(name: string): TaskModule<M> {
  return taskModule<M>(new URL(`tasks/${name}.js`, distDir));
}
