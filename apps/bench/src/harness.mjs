#!/usr/bin/env node
// The benchmark harness: runs every case of every scenario against every subject that
// declares it, in this one process, side by side; prints a table per case with the median
// figure, its min–max over the repetitions, and each subject's speed relative to the case's
// baseline; writes results/latest.json and results/latest.md.
//
//   node src/harness.mjs [--only pipe-pingpong,lock/contended] [--subject piscina]
//                        [--reps 5] [--warmup-runs 1] [--smoke] [--no-write] [--update-readme] [--list]
//
// A subject is one module in src/subjects/ (see src/subjects/README.md); nothing here names one.
import { readdir, writeFile, readFile, mkdir } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { scenarios } from './scenarios.mjs';
import { pythonInfo } from './lib/python.mjs';

const HERE = new URL('./', import.meta.url);
const APP = new URL('../', import.meta.url);

const USAGE = `usage: pnpm --filter @threadkit/bench bench -- [options]
  --only LIST         scenarios or scenario/case ids, comma-separated (e.g. pipe-pingpong,lock/contended)
  --subject TEXT      only subjects whose name contains TEXT (case-insensitive); baselines always run
  --reps N            timed repetitions per subject and case (default 5; the median is reported)
  --warmup-runs N     untimed whole runs before them (default 1)
  --smoke             one tiny run of everything (n / 200, no warm-up run): checks that it all works
  --no-write          do not write results/latest.json and results/latest.md
  --update-readme     also paste the Markdown tables into README.md between the bench:results markers
  --list              list scenarios, cases and subjects, then exit`;

// ---------------------------------------------------------------- options
function parseArgs(argv) {
  const o = { only: [], subject: '', reps: 5, warmupRuns: 1, smoke: false, write: true, readme: false, list: false };
  const args = argv.filter((a) => a !== '--');
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--only':
        o.only.push(
          ...value()
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        );
        break;
      case '--subject':
        o.subject = value().toLowerCase();
        break;
      case '--reps':
        o.reps = positiveInt(flag, value());
        break;
      case '--warmup-runs':
        o.warmupRuns = positiveInt(flag, value(), 0);
        break;
      case '--smoke':
        o.smoke = true;
        break;
      case '--no-write':
        o.write = false;
        break;
      case '--update-readme':
        o.readme = true;
        break;
      case '--list':
        o.list = true;
        break;
      case '-h':
      case '--help':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  if (o.smoke) {
    o.reps = 1;
    o.warmupRuns = 0;
  }
  return o;
}

function positiveInt(flag, v, min = 1) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} wants an integer ≥ ${min}, got ${v}`);
  return n;
}

// ---------------------------------------------------------------- subjects
async function loadSubjects() {
  const dir = new URL('subjects/', HERE);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.mjs') || f.endsWith('.js')).sort();
  const subjects = [];
  const problems = []; // a subject file that fails to load is reported, and the others still run
  for (const file of files) {
    const where = `src/subjects/${file}`;
    try {
      const mod = await import(new URL(file, dir).href);
      const list = [mod.default].flat().filter(Boolean);
      if (list.length === 0) throw new Error('no default export (a subject or an array of subjects)');
      for (const s of list) {
        if (typeof s.name !== 'string' || !s.name) throw new Error('a subject needs a name');
        if (typeof s.run !== 'function') throw new Error(`subject "${s.name}" needs run(opts)`);
        const scenario = scenarios.find((x) => x.name === s.scenario);
        if (!scenario) throw new Error(`subject "${s.name}" names unknown scenario "${s.scenario}" (known: ${scenarios.map((x) => x.name).join(', ')})`);
        const caseIds = scenario.cases.map((c) => c.id);
        for (const c of s.cases ?? [])
          if (!caseIds.includes(c)) throw new Error(`subject "${s.name}" names unknown case "${c}" of ${s.scenario} (known: ${caseIds.join(', ')})`);
        if (subjects.some((o) => o.scenario === s.scenario && o.name === s.name)) throw new Error(`two subjects of ${s.scenario} are named "${s.name}"`);
        subjects.push({ order: 50, note: '', ...s, file });
      }
    } catch (e) {
      problems.push(`${where}: ${e?.message ?? e}`);
    }
  }
  return { subjects, problems };
}

function subjectsFor(all, scenario, kase) {
  return all
    .filter((s) => s.scenario === scenario.name && (!s.cases || s.cases.includes(kase.id)))
    .sort((a, b) => (b.name === kase.baseline) - (a.name === kase.baseline) || a.order - b.order || a.name.localeCompare(b.name));
}

function selected(opts, scenario, kase) {
  if (opts.only.length === 0) return true;
  return opts.only.some((o) => o === scenario.name || o === `${scenario.name}/${kase.id}`);
}

// ---------------------------------------------------------------- measuring
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
    }),
  ]);
}

function figureOf(r) {
  const value = typeof r === 'number' ? r : r?.value;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new Error(`run() returned ${JSON.stringify(r)}, not a positive number (or { value })`);
  return value;
}

function runParams(kase, opts) {
  const scale = opts.smoke ? 200 : 1;
  const params = { ...kase.params };
  if (params.n) params.n = Math.max(1, Math.ceil(params.n / scale));
  if (params.warmup) params.warmup = Math.max(1, Math.ceil(params.warmup / scale));
  return params;
}

/**
 * Measures every subject of one case. Runs are interleaved — warm-up runs of every subject,
 * then repetition 1 of every subject, repetition 2, … (the order rotating each time) — so that
 * the machine's load drifting during the case hits all subjects alike and the ratios hold.
 */
async function measureCase(list, scenario, kase, opts) {
  const params = runParams(kase, opts);
  const runOpts = { scenario: scenario.name, case: kase.id, smoke: opts.smoke, ...params };
  const timeoutMs = opts.smoke ? 30_000 : 90_000;
  const states = [];
  for (const subject of list) {
    const row = { scenario: scenario.name, case: kase.id, subject: subject.name, file: subject.file, note: subject.note };
    const avail = subject.available ? await subject.available() : true;
    if (avail !== true) Object.assign(row, { status: 'n/a', reason: String(avail) });
    states.push({ subject, row, samples: [], details: undefined, ms: 0 });
  }
  const live = () => states.filter((s) => !s.row.status);
  const once = async (st, keep) => {
    const t0 = performance.now();
    try {
      const r = await withTimeout(
        Promise.resolve().then(() => st.subject.run({ ...runOpts })),
        timeoutMs,
        `${st.subject.name} on ${scenario.name}/${kase.id}`,
      );
      const v = figureOf(r);
      if (keep) {
        st.samples.push(v);
        if (r && typeof r === 'object' && !st.details) st.details = Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'value'));
      }
      process.stderr.write('.');
    } catch (e) {
      Object.assign(st.row, { status: 'error', reason: e?.message ?? String(e) });
      process.stderr.write('x');
    }
    st.ms += performance.now() - t0;
    await new Promise((res) => setTimeout(res, 20)); // let terminated workers go before the next run
  };
  process.stderr.write(`  ${scenario.name}/${kase.id}: ${live().length} subjects `);
  for (let w = 0; w < opts.warmupRuns; w++) for (const st of live()) await once(st, false);
  for (let rep = 0; rep < opts.reps; rep++) {
    const order = live();
    const k = order.length ? rep % order.length : 0;
    for (const st of [...order.slice(k), ...order.slice(0, k)]) await once(st, true);
  }
  process.stderr.write('\n');
  return states.map(({ row, samples, details, ms }) => {
    if (row.status) return { ...row, samples };
    const sorted = [...samples].sort((a, b) => a - b);
    return {
      ...row,
      status: 'ok',
      median: median(samples),
      min: sorted[0],
      max: sorted[sorted.length - 1],
      samples,
      ...(details && Object.keys(details).length ? { details } : {}),
      params,
      seconds: +(ms / 1000).toFixed(2),
    };
  });
}

/** Speed relative to the baseline: > 1 means faster than the baseline, whatever the unit. */
function speedVs(row, base, kase) {
  if (row.status !== 'ok' || base?.status !== 'ok') return null;
  return kase.better === 'lower' ? base.median / row.median : row.median / base.median;
}

// ---------------------------------------------------------------- formatting
function fmtNum(x) {
  if (x >= 1000) return Math.round(x).toLocaleString('en-US');
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  if (x >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}

function fmtRate(x) {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`;
  return x.toFixed(0);
}

const fmtFigure = (kase, x) => (kase.better === 'higher' ? fmtRate(x) : fmtNum(x));

function fmtRange(kase, r) {
  if (kase.better === 'higher') {
    // same prefix for both ends, taken from the median
    const [div, p] = r.median >= 1e6 ? [1e6, ' M'] : r.median >= 1e3 ? [1e3, ' k'] : [1, ''];
    const d = r.median >= 1e6 ? 2 : 1;
    return `${(r.min / div).toFixed(d)}–${(r.max / div).toFixed(d)}${p}`;
  }
  return `${fmtNum(r.min)}–${fmtNum(r.max)}`;
}

function fmtSpeed(s) {
  if (s === null) return '';
  return s >= 10 ? `${s.toFixed(0)}×` : `${s.toFixed(2)}×`;
}

function unitHeader(kase) {
  return kase.better === 'lower' ? `${kase.unit} / ${kase.per}` : kase.unit;
}

function cells(kase, rows) {
  const base = rows.find((r) => r.subject === kase.baseline);
  return rows.map((r) => {
    const name = r.subject === kase.baseline ? `${r.subject} (baseline)` : r.subject;
    if (r.status === 'n/a') return [name, `n/a (${r.reason})`, '', ''];
    if (r.status === 'error') return [name, 'error', '', r.reason.slice(0, 60)];
    return [name, fmtFigure(kase, r.median), fmtRange(kase, r), fmtSpeed(speedVs(r, base, kase))];
  });
}

function consoleTable(scenario, kase, rows, opts) {
  const head = ['subject', unitHeader(kase), 'min–max', `vs ${kase.baseline}`];
  const body = cells(kase, rows);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const better = kase.better === 'lower' ? 'lower is better' : 'higher is better';
  return [
    '',
    `${scenario.name}/${kase.id} — ${kase.title}`,
    `  ${unitHeader(kase)}, ${better}; median of ${opts.reps} (min–max); "vs" > 1 = faster than the baseline`,
    `  ${line(head)}`,
    `  ${widths.map((w) => '-'.repeat(w)).join('  ')}`,
    ...body.map((r) => `  ${line(r)}`),
  ].join('\n');
}

function markdown(results, env, opts) {
  const out = [];
  out.push(
    `Run ${env.date} on ${env.cpus} × ${env.cpuModel}, ${env.platform}, Node ${env.node}, ${env.python ? `Python ${env.python.version} (start method ${env.python.startMethod})` : 'no python3'}${env.commit ? `, threadkit ${env.commit}` : ''}; load average ${env.loadavg.start.join(' / ')} at start. ` +
      `Each figure is the median of ${opts.reps} runs (after ${opts.warmupRuns} untimed run${opts.warmupRuns === 1 ? '' : 's'}), with the min–max of those runs. ` +
      `"vs" is the speed relative to the case's baseline, > 1 = faster. Absolute figures are noisy on this machine: compare within one run.`,
  );
  for (const scenario of scenarios) {
    const forScenario = results.filter((r) => r.scenario === scenario.name);
    if (forScenario.length === 0) continue;
    out.push('', `### ${scenario.name}`, '', `${scenario.summary[0].toUpperCase()}${scenario.summary.slice(1)}.`);
    for (const kase of scenario.cases) {
      const rows = forScenario.filter((r) => r.case === kase.id);
      if (rows.length === 0) continue;
      out.push('', `**${scenario.name}/${kase.id}** — ${kase.title}; ${kase.better === 'lower' ? 'lower' : 'higher'} is better`, '');
      out.push(`| subject | ${unitHeader(kase)} | min–max | vs ${kase.baseline} |`, '|---|---:|---:|---:|');
      for (const c of cells(kase, rows)) out.push(`| ${c.map((x) => x.replaceAll('|', '\\|')).join(' | ')} |`);
    }
    const notes = new Map();
    for (const r of forScenario) if (r.note && !notes.has(r.subject)) notes.set(r.subject, r.note);
    if (notes.size) {
      out.push('');
      for (const [name, note] of notes) out.push(`- *${name}*: ${note}`);
    }
  }
  return `${out.join('\n')}\n`;
}

function environment() {
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: fileURLToPath(APP), encoding: 'utf8' });
  const cpus = os.cpus();
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    node: process.versions.node,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown CPU',
    python: pythonInfo(),
    commit: git.status === 0 ? git.stdout.trim() : null,
    loadavg: { start: os.loadavg().map((x) => +x.toFixed(2)) },
  };
}

// ---------------------------------------------------------------- main
async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const { subjects, problems } = await loadSubjects();
  for (const p of problems) console.error(`bench: cannot load ${p}`);

  if (opts.list) {
    for (const scenario of scenarios) {
      if (!scenario.cases.some((kase) => selected(opts, scenario, kase))) continue;
      console.log(`${scenario.name}: ${scenario.summary}`);
      for (const kase of scenario.cases) {
        if (!selected(opts, scenario, kase)) continue;
        console.log(`  ${scenario.name}/${kase.id}: ${kase.title} [${kase.unit}]`);
        for (const s of subjectsFor(subjects, scenario, kase)) console.log(`    - ${s.name}${s.name === kase.baseline ? ' (baseline)' : ''}  (${s.file})`);
      }
    }
    return 0;
  }

  for (const o of opts.only) {
    const known = scenarios.some((s) => o === s.name || s.cases.some((c) => o === `${s.name}/${c.id}`));
    if (!known) throw new Error(`--only ${o}: no such scenario or case (try --list)`);
  }

  const env = environment();
  const started = performance.now();
  console.error(
    `bench: ${env.cpus} × ${env.cpuModel}, Node ${env.node}, ${env.python ? `Python ${env.python.version}` : 'no python3'}; ` +
      `${opts.smoke ? 'smoke run (tiny n, 1 rep)' : `${opts.warmupRuns} warm-up run + ${opts.reps} reps per subject`}`,
  );

  const results = [];
  for (const scenario of scenarios) {
    for (const kase of scenario.cases) {
      if (!selected(opts, scenario, kase)) continue;
      const list = subjectsFor(subjects, scenario, kase).filter(
        (s) => !opts.subject || s.name === kase.baseline || s.name.toLowerCase().includes(opts.subject),
      );
      if (list.length === 0) continue;
      if (!list.some((s) => s.name === kase.baseline))
        console.error(`bench: warning: ${scenario.name}/${kase.id} has no subject named "${kase.baseline}" (its baseline)`);
      const load = +os.loadavg()[0].toFixed(2);
      const rows = await measureCase(list, scenario, kase, opts);
      for (const r of rows) r.loadavg1 = load;
      const base = rows.find((r) => r.subject === kase.baseline);
      for (const r of rows) {
        r.unit = kase.unit;
        r.better = kase.better;
        r.baseline = kase.baseline;
        const sp = speedVs(r, base, kase);
        if (sp !== null) r.speedVsBaseline = +sp.toPrecision(4);
      }
      results.push(...rows);
      if (opts.smoke) {
        for (const r of rows)
          console.log(
            `  ${r.status === 'ok' ? 'ok ' : r.status === 'n/a' ? 'n/a' : 'ERR'}  ${scenario.name}/${kase.id} · ${r.subject}${r.reason ? `: ${r.reason}` : ''}`,
          );
      } else console.log(consoleTable(scenario, kase, rows, opts));
    }
  }
  env.loadavg.end = os.loadavg().map((x) => +x.toFixed(2));
  const seconds = +((performance.now() - started) / 1000).toFixed(1);
  console.log(`\nbench: ${results.length} figures in ${seconds} s; load average ${env.loadavg.start.join('/')} → ${env.loadavg.end.join('/')}`);

  const errors = results.filter((r) => r.status === 'error');
  if (opts.smoke) {
    // the smoke run checks that every subject runs; it times nothing worth reading
    console.log(
      `bench smoke: ${results.filter((r) => r.status === 'ok').length} passed, ${errors.length + problems.length} failed, ${results.filter((r) => r.status === 'n/a').length} skipped`,
    );
  }
  if (opts.write && !opts.smoke) {
    const dir = new URL('results/', APP);
    await mkdir(dir, { recursive: true });
    const md = markdown(results, env, opts);
    const json = { env, options: { only: opts.only, subject: opts.subject, reps: opts.reps, warmupRuns: opts.warmupRuns }, seconds, scenarios, results };
    await writeFile(new URL('latest.json', dir), `${JSON.stringify(json, null, 2)}\n`);
    await writeFile(new URL('latest.md', dir), md);
    console.log(`bench: wrote ${fileURLToPath(new URL('latest.json', dir))} and latest.md`);
    if (opts.readme) await updateReadme(md);
  }
  if (problems.length) {
    console.error(`bench: ${problems.length} subject file(s) did not load:`);
    for (const p of problems) console.error(`  ${p}`);
  }
  if (errors.length) {
    console.error(`bench: ${errors.length} subject run(s) failed:`);
    for (const e of errors) console.error(`  ${e.scenario}/${e.case} · ${e.subject}: ${e.reason}`);
  }
  return errors.length || problems.length ? 1 : 0;
}

async function updateReadme(md) {
  const file = new URL('README.md', APP);
  const text = await readFile(file, 'utf8');
  const start = '<!-- bench:results:start -->';
  const end = '<!-- bench:results:end -->';
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) {
    console.error(`bench: README.md has no ${start} … ${end} markers; not updated`);
    return;
  }
  await writeFile(file, `${text.slice(0, a + start.length)}\n${md}${text.slice(b)}`);
  console.log('bench: pasted the tables into README.md');
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`bench: ${process.env.BENCH_DEBUG ? e?.stack : (e?.message ?? e)}`);
    process.exit(2);
  },
);
