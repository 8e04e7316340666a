// Reproduced a livelock of RemoteJoinableQueue under connection kills (not part of the test run):
// an item delivered twice got two taskDone()s, `unfinished` reached 0 early, and from then on
// taskDone refused while the items left went round between the consumers. Fixed by counting an
// item done as it leaves the processing list; kept to check that it stays fixed.
// Two consumers and a producer on one queue (300 items, lease 2 s) while another client kills every
// normal connection every 15–45 ms (CLIENT KILL TYPE normal). Usually every item is got once in
// ~4 s; before the fix, sometimes (about 1 run in 7 with two busy loops on 2 cores; every run
// before the numbered scripts) one consumer got items over and over (tens of thousands of gets) and never stopped:
// the same kill loop as shared-resend.test.ts's joinable test. When it happens, DUMP prints the
// queue's keys (lists' lengths, leases' TTLs) for diagnosis.
//   cd packages/redis && pnpm exec tsc -p tsconfig.json && node test/repro/joinable-kill-loop.mjs
import { spawn } from 'node:child_process';
import { RemoteJoinableQueue } from '../../dist/index.js';
import { Redis } from 'ioredis';
const port = 38000 + Math.floor(Math.random() * 500);
const server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 300));
const url = `redis://127.0.0.1:${port}`;
const raw = new Redis(url, { maxRetriesPerRequest: null });
raw.on('error', () => {});
const name = `jq${Math.random().toString(36).slice(2)}`;
const N = 300;
const producer = new RemoteJoinableQueue(name, { connection: url, lease: 2000 });
const consumers = [0, 1].map(() => new RemoteJoinableQueue(name, { connection: url, lease: 2000 }));
let stop = false;
const _killer = (async () => {
  while (!stop) {
    await new Promise((r) => setTimeout(r, 15 + Math.random() * 30));
    await raw.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes').catch(() => 0);
  }
})();
const state = { put: 0, got: 0, pending: ['', '', ''], since: [0, 0, 0] };
const mark = (i, what) => {
  state.pending[i] = what;
  state.since[i] = Date.now();
};
const p = (x) =>
  x.catch((e) => {
    return e;
  });
const produce = async () => {
  for (let i = 0; i < N; i++) {
    mark(0, `put ${i}`);
    const r = await p(producer.put(i, { timeout: 5000 }));
    if (r instanceof Error) console.log('put err', i, r.name, r.message.slice(0, 80));
    state.put++;
  }
  mark(0, 'done');
};
const consume = async (c, k) => {
  let idle = 0;
  while (idle < 15) {
    try {
      mark(k, 'get');
      const _v = await c.get({ timeout: 200 });
      state.got++;
      idle = 0;
      mark(k, 'taskDone');
      await p(c.taskDone());
    } catch {
      idle++;
    }
  }
  mark(k, 'done');
};
let dumped = false;
const dump = async () => {
  if (dumped) return;
  dumped = true;
  const keys = await raw.keys(`threadkit:q:{${name}}:*`);
  const out = [];
  for (const k of keys.sort()) {
    const t = await raw.type(k);
    const ttl = await raw.pttl(k);
    let v = '';
    if (t === 'list') v = `len ${await raw.llen(k)}`;
    else if (t === 'string') v = await raw.get(k);
    else if (t === 'set') v = JSON.stringify(await raw.smembers(k));
    else if (t === 'zset') v = `zcard ${await raw.zcard(k)}`;
    out.push(`${k.replace(/^.*\}:/, '')} ${t} ttl=${ttl} ${v}`);
  }
  console.log('DUMP', out.join(' | '));
};
const watch = setInterval(() => {
  if (state.got > 1500) void dump();
  const now = Date.now();
  const stuck = state.pending.map((w, i) => (w !== 'done' && now - state.since[i] > 8000 ? `${i}:${w} for ${now - state.since[i]} ms` : '')).filter(Boolean);
  if (stuck.length) {
    console.log('STUCK', JSON.stringify(state), stuck);
  }
}, 2000);
const t = Date.now();
await Promise.race([Promise.all([produce(), ...consumers.map((c, i) => consume(c, i + 1))]), new Promise((r) => setTimeout(r, 40000))]);
console.log('finished in', Date.now() - t, 'ms', JSON.stringify(state));
stop = true;
clearInterval(watch);
server.kill('SIGKILL');
process.exit(0);
