/**
 * The demo (apps/demo: the seed's E1–E8, CPU and POOL) under Deno, as `pnpm start:deno` runs it: apps/demo/deno.json
 * maps the demo's '@threadkit/node' imports to this adapter. It checks what the demo prints, not
 * its timing: every example is there, E6's processes have pids of their own, E7's pipe carries
 * both messages, E8's queue delivers every item exactly once, and the program exits 0 by itself.
 */
import { fileURLToPath } from 'node:url';
import { equal, match, ok } from '@threadkit/core/conformance';
import { withLimit } from './_test_api.ts';

const demo = fileURLToPath(new URL('../../../apps/demo/', import.meta.url));

Deno.test({
  name: 'the demo runs E1–E8, CPU and POOL under Deno and exits by itself',
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withLimit(
      async () => {
        const command = new Deno.Command(Deno.execPath(), {
          args: ['run', '--no-prompt', '--allow-read', '--allow-run', '--allow-env', 'src/main.ts', '--scale', '30', '--primes', '1000000'],
          cwd: demo,
          stdin: 'null',
          stdout: 'piped',
          stderr: 'piped',
          signal: AbortSignal.timeout(90_000),
        });
        const { code, stdout, stderr } = await command.output();
        const out = new TextDecoder().decode(stdout);
        equal(code, 0, new TextDecoder().decode(stderr));
        for (const id of ['E1', 'E2', 'E3', 'E4', 'E5', 'E6', 'E7', 'E8', 'CPU', 'POOL']) ok(out.includes(`━━ ${id} ·`), `${id} is there`);
        const main = Number(/this program is pid (\d+)/.exec(out)?.[1]);
        const pids = [...out.matchAll(/^Process-\d: pid (\d+)/gm)].map((m) => Number(m[1]));
        equal(pids.length, 3, 'E6 prints three pids');
        equal(new Set([main, ...pids]).size, 4, `E6's processes have pids of their own: ${pids.join(', ')} (main ${main})`);
        match(out, /^proc1 rec: hello, too$/m);
        match(out, /^proc2 rec: hello$/m);
        match(out, /check: 10 items put, 10 got, each exactly once/);
        match(out, /\(exit codes: all 20 processes 0\)/);
        match(out, /Pool speed-up: [\d.]+×/);
        match(out, /Done in [\d.]+ s/);
      },
      'demo',
      120_000,
    ),
});
