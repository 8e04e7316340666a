/**
 * Helpers for runtime adapters (`@threadkit/core/adapter`): behaviour every adapter that starts OS
 * processes shares, written once here against structural types, since core imports no runtime.
 */

/** A child process as an adapter holds it (a Node or Deno `ChildProcess`). */
export interface EndableChild {
  kill(signal: 'SIGTERM'): unknown;
  once(event: 'exit', listener: () => void): unknown;
}

const daemons = new Set<EndableChild>();
let exitHookInstalled = false;

/**
 * Ends a daemon process when this program exits: a daemon does not keep the program alive, and
 * must not outlive it either. `onExit` installs the runtime's exit hook; it is called once.
 * @example endAtExit(child, (hook) => process.once('exit', hook));
 */
export function endAtExit(child: EndableChild, onExit: (hook: () => void) => void): void {
  daemons.add(child);
  child.once('exit', () => daemons.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  onExit(() => {
    for (const c of daemons) c.kill('SIGTERM');
  });
}
