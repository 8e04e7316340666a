// The codec's throughput against structuredClone and JSON, in one run (compare ratios: the machine is noisy).
//   cd packages/core && npx tsc -p tsconfig.json && node bench/codec.bench.mjs [--quick] [--only=<suite name part>]
import { Decoder, Encoder } from '../dist/codec/index.js';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 7;
const MIN_MS = quick ? 60 : 200;

/**
 * Runs `fn(i)` in batches for at least MIN_MS per round, after one discarded warm-up round;
 * returns { median, best } rates in ops/s over ROUNDS rounds. On a shared, noisy machine the
 * best round is the steadiest figure; the median says what a typical round saw.
 */
function rate(fn) {
  let batch = 256;
  const rates = [];
  for (let r = -1; r < ROUNDS; r++) {
    let ops = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < MIN_MS) {
      for (let i = 0; i < batch; i++) fn(i);
      ops += batch;
      t = performance.now();
      if (t - t0 < 10) batch *= 2;
    }
    if (r >= 0) rates.push((ops * 1000) / (t - t0));
  }
  rates.sort((a, b) => a - b);
  return { median: rates[rates.length >> 1], best: rates[rates.length - 1] };
}

const fmt = (opsPerSec) => (opsPerSec / 1e6).toFixed(opsPerSec >= 1e5 ? 2 : 4).padStart(8);
function row(payload, what, { median, best }, bytesPerOp) {
  const gbps = bytesPerOp ? `   ${((median * bytesPerOp) / 1e9).toFixed(2)} (${((best * bytesPerOp) / 1e9).toFixed(2)}) GB/s` : '';
  console.log(`${payload.padEnd(20)} ${what.padEnd(30)} ${fmt(median)} (${fmt(best).trim()}) M msgs/s${gbps}`);
}

/** A ring-like SharedArrayBuffer with the payload at a nonzero offset, as the Queue will hand it to the decoder. */
function inShared(bytes, offset = 24) {
  const sab = new SharedArrayBuffer(offset + bytes.length + 8);
  const view = new Uint8Array(sab);
  view.set(bytes, offset);
  return { view, start: offset, end: offset + bytes.length, sub: view.subarray(offset, offset + bytes.length) };
}

const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);

function suite(name, make, { bytes = 0, json = true, distinct = 1024 } = {}) {
  if (only && !name.includes(only)) return;
  const encoder = new Encoder();
  const decoder = new Decoder();
  // Distinct values of the same shape (ids and texts differ), built before timing; for big
  // payloads, few enough that their ring slots add up to a ring's size (~1-4 MiB), not 64 MiB.
  const mask = distinct - 1;
  const values = Array.from({ length: distinct }, (_, i) => make(i));
  const encoded = values.map((v) => inShared(encoder.encode(v)));
  const size = encoded[0].end - encoded[0].start;
  console.log(`\n${name}: ${size} bytes encoded`);
  let sink = 0;
  row(
    name,
    'encode() → view',
    rate((i) => {
      sink += encoder.encode(values[i & mask]).length;
    }),
    bytes,
  );
  row(
    name,
    'encodeToScratch() (no view)',
    rate((i) => {
      sink += encoder.encodeToScratch(values[i & mask]);
    }),
    bytes,
  );
  row(
    name,
    'decodeRange() from SAB ring',
    rate((i) => {
      const e = encoded[i & mask];
      sink += decoder.decodeRange(e.view, e.start, e.end) ? 1 : 0;
    }),
    bytes,
  );
  row(
    name,
    'decode() of a SAB subarray',
    rate((i) => {
      sink += decoder.decode(encoded[i & mask].sub) ? 1 : 0;
    }),
    bytes,
  );
  row(
    name,
    'encode + decode',
    rate((i) => {
      sink += decoder.decode(encoder.encode(values[i & mask])) ? 1 : 0;
    }),
    bytes,
  );
  row(
    name,
    'structuredClone',
    rate((i) => {
      sink += structuredClone(values[i & mask]) ? 1 : 0;
    }),
    bytes,
  );
  if (json) {
    row(
      name,
      'JSON.stringify',
      rate((i) => {
        sink += JSON.stringify(values[i & mask]).length;
      }),
    );
    const texts = values.map((v) => JSON.stringify(v));
    row(
      name,
      'JSON.parse',
      rate((i) => {
        sink += JSON.parse(texts[i & mask]) ? 1 : 0;
      }),
    );
    row(
      name,
      'JSON.stringify + parse',
      rate((i) => {
        sink += JSON.parse(JSON.stringify(values[i & mask])) ? 1 : 0;
      }),
    );
  }
  if (sink === 0.5) console.log(sink);
}

console.log(`threadkit codec bench — Node ${process.versions.node}, ${ROUNDS} rounds of ≥${MIN_MS} ms each: median (best)`);

suite('small object', (i) => ({ id: 123 + i, text: `hello world ${123 + i}` }));
suite('record', (i) => ({ id: i, name: `user ${i}`, email: `user${i}@example.com`, active: i % 2 === 0, score: i * 1.5, tags: ['a', 'b'] }));
suite('100 records', (i) => Array.from({ length: 100 }, (_, j) => ({ id: i * 100 + j, x: j * 0.5, label: `item ${j}` })));
suite('non-ASCII text', (i) => ({ title: `歌曲${i}`, artist: 'Ólafur Arnalds', note: `🎵 第${i}首` }));
suite('64 KiB Uint8Array', (i) => new Uint8Array(65536).fill(i & 255), { bytes: 65536, json: false, distinct: 16 });
suite('1 MB ASCII string', (i) => `${i}`.padEnd(1 << 20, 'abcdefgh'), { bytes: 1 << 20, distinct: 4 });
