/**
 * One scenario run as a program of its own, so the harness can check what only the outside sees:
 * that it exits by itself, and that no process it started outlives it.
 * usage: node dist/child.js <scenario> <variant> <seed>
 * Prints `CHAOS-PID <pid> <what>` for every process it starts, then `CHAOS-REPORT <json>`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { activeChildren, useTransport } from '@threadkit/node';
import { Rng, hashSeed } from './rng.js';
import { Ctx, VARIANTS, type Variant } from './scenario.js';
import { SCENARIOS } from './scenarios/index.js';

const [name = '', variant = '', seedText = ''] = process.argv.slice(2);
const scenario = SCENARIOS[name];
if (!scenario || !VARIANTS.includes(variant as Variant) || !/^\d+$/.test(seedText)) {
  console.error(`usage: child.js <${Object.keys(SCENARIOS).join('|')}> <${VARIANTS.join('|')}> <seed>`);
  process.exit(2);
}
if (variant === 'thread-message') useTransport('message');

const dir = mkdtempSync(join(tmpdir(), `threadkit-chaos-${name}-`));
const ctx = new Ctx(new Rng(hashSeed(Number(seedText), name, variant)), variant as Variant, dir);
try {
  await scenario.run(ctx);
} catch (error) {
  ctx.fail(`the scenario threw: ${error instanceof Error ? error.stack : String(error)}`);
}
await ctx.joinAll();
const left = activeChildren();
ctx.check(left.length === 0, `still alive at the end: ${left.map((w) => w.name).join(', ')}`);
if (ctx.violations.length === 0) rmSync(dir, { recursive: true, force: true });
else ctx.note(`worker logs kept in ${dir}`);
process.stdout.write(`CHAOS-REPORT ${JSON.stringify(ctx.report())}\n`);
// The main module ends here: the program must now exit by itself.
