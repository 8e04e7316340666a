/**
 * Creates a Pool of the given kind and size, and prints how that went as JSON: what it threw
 * (class, code, message) or `{ "threw": false }`; then terminates the pool. A program of its own
 * because a size the machine cannot create may exhaust memory when it is accepted.
 * usage: node dist/pool-program.js <thread|process> <size>
 */
import { Pool } from '@threadkit/node';

const [kind, size] = process.argv.slice(2);
try {
  const pool = new Pool({ kind: kind as 'thread' | 'process', size: Number(size) });
  console.log(JSON.stringify({ threw: false }));
  await pool.terminate();
} catch (error) {
  const e = error as Error & { code?: unknown };
  console.log(JSON.stringify({ threw: true, name: e.constructor.name, isRangeError: e instanceof RangeError, code: e.code, message: e.message }));
}
