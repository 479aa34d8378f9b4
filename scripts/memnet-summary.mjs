// Summarises the bAbI runs of scripts/memnet-babi-results.sh into the tables of docs/results/memnet.md.
// Usage: node scripts/memnet-summary.mjs [runs]
// Reads runs/memnet-1k-s<seed>/task<N>/, runs/memnet-10k-s<seed>/task<N>/ and runs/memnet-joint-s<seed>/:
// results.json (test error per task) and curve.csv (the last epoch's validation error, used to pick the best run,
// as the paper picks the best of 10 runs; it never looks at the test set).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = process.argv[2] ?? 'runs';
const TASKS = Array.from({ length: 20 }, (_, i) => i + 1);
const FAILED = 0.05;

/** The official Matlab code, per task, 1k, 3 hops PE LS RN (as run in vinhkhuc/MemN2N-babi-python's benchmark page). */
const MATLAB_PER_TASK = [0.1, 8.2, 41.8, 4.4, 13.7, 7.9, 20.3, 11.7, 13.6, 9.7, 0.7, 0.0, 0.3, 0.9, 0.0, 0.4, 51.0, 10.5, 81.4, 0.0];
const MATLAB_JOINT = [0.0, 13.1, 23.4, 5.9, 12.9, 3.7, 22.9, 9.1, 2.7, 7.2, 0.8, 0.1, 0.1, 4.2, 0.0, 1.2, 43.6, 10.5, 86.7, 0.0];

function readRun(folder) {
  const results = JSON.parse(readFileSync(join(folder, 'results.json'), 'utf8'));
  const curve = readFileSync(join(folder, 'curve.csv'), 'utf8').trim().split('\n');
  const last = curve[curve.length - 1].split(',');
  return { errors: new Map(results.tasks.map((t) => [t.task, t.error])), validation: Number(last[6]), seconds: results.seconds };
}

function seeds(prefix) {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => new RegExp(`^${prefix}-s(\\d+)$`).exec(name))
    .filter((m) => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

const pct = (x) => (Number.isFinite(x) ? (100 * x).toFixed(1) : '–');
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const summary = (errors) => {
  const present = errors.filter((e) => Number.isFinite(e));
  return { mean: mean(present), failed: present.filter((e) => e > FAILED).length, count: present.length };
};

function perTask(set) {
  const runs = seeds(`memnet-${set}`).map((seed) => {
    const tasks = new Map();
    for (const task of TASKS) {
      const folder = join(root, `memnet-${set}-s${seed}`, `task${task}`);
      if (existsSync(join(folder, 'results.json'))) tasks.set(task, readRun(folder));
    }
    return { seed, tasks };
  });
  return runs.filter((r) => r.tasks.size > 0);
}

function printPerTask(set, reference) {
  const runs = perTask(set);
  if (runs.length === 0) return;
  const complete = runs.filter((r) => r.tasks.size === TASKS.length || (set === '10k' && r.tasks.size >= 19));
  console.log(`\n### bAbI ${set}, one model per task (seeds ${runs.map((r) => r.seed).join(', ')})\n`);
  console.log(
    `| task | ${runs.map((r) => `seed ${r.seed}`).join(' | ')} | mean of ${runs.length} | best of ${runs.length} (by validation) |${reference ? ' official Matlab code |' : ''}`,
  );
  console.log(`|---|${runs.map(() => '---|').join('')}---|---|${reference ? '---|' : ''}`);
  const columns = { mean: [], best: [], seeds: runs.map(() => []) };
  for (const task of TASKS) {
    const cells = runs.map((r) => r.tasks.get(task));
    const errors = cells.map((c) => c?.errors.get(task) ?? Number.NaN);
    const present = cells.filter((c) => c !== undefined);
    const best = present.length === 0 ? undefined : present.reduce((a, b) => (b.validation < a.validation ? b : a));
    const m = present.length === 0 ? Number.NaN : mean(present.map((c) => c.errors.get(task)));
    const b = best?.errors.get(task) ?? Number.NaN;
    columns.mean.push(m);
    columns.best.push(b);
    errors.forEach((e, i) => {
      columns.seeds[i].push(e);
    });
    console.log(`| ${task} | ${errors.map(pct).join(' | ')} | ${pct(m)} | ${pct(b)} |${reference ? ` ${reference[task - 1].toFixed(1)} |` : ''}`);
  }
  const row = (errors) => {
    const s = summary(errors);
    return `${pct(s.mean)} (${s.failed} failed${s.count < TASKS.length ? `, ${s.count} tasks` : ''})`;
  };
  console.log(
    `| **mean (failed > 5%)** | ${columns.seeds.map((e) => row(e)).join(' | ')} | ${row(columns.mean)} | ${row(columns.best)} |${reference ? ` ${(mean(reference)).toFixed(1)} (${reference.filter((e) => e > 5).length} failed) |` : ''}`,
  );
  const seconds = runs.flatMap((r) => [...r.tasks.values()].map((c) => c.seconds));
  console.log(
    `\nTraining time per task model: median ${median(seconds).toFixed(0)} s, longest ${Math.max(...seconds).toFixed(0)} s (${complete.length} complete run sets).`,
  );
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function printJoint() {
  const runs = seeds('memnet-joint')
    .filter((seed) => existsSync(join(root, `memnet-joint-s${seed}`, 'results.json')))
    .map((seed) => ({ seed, ...readRun(join(root, `memnet-joint-s${seed}`)) }));
  if (runs.length === 0) return;
  const best = runs.reduce((a, b) => (b.validation < a.validation ? b : a));
  console.log(`\n### bAbI 1k, joint training on all 20 tasks (seeds ${runs.map((r) => r.seed).join(', ')})\n`);
  console.log(
    `| task | ${runs.map((r) => `seed ${r.seed}`).join(' | ')} | mean of ${runs.length} | best of ${runs.length} (seed ${best.seed}, by validation) | official Matlab code |`,
  );
  console.log(`|---|${runs.map(() => '---|').join('')}---|---|---|`);
  const means = [];
  for (const task of TASKS) {
    const errors = runs.map((r) => r.errors.get(task));
    means.push(mean(errors));
    console.log(`| ${task} | ${errors.map(pct).join(' | ')} | ${pct(mean(errors))} | ${pct(best.errors.get(task))} | ${MATLAB_JOINT[task - 1].toFixed(1)} |`);
  }
  const cell = (errors) => {
    const s = summary(errors);
    return `${pct(s.mean)} (${s.failed} failed)`;
  };
  console.log(
    `| **mean (failed > 5%)** | ${runs.map((r) => cell(TASKS.map((t) => r.errors.get(t)))).join(' | ')} | ${cell(means)} | ${cell(TASKS.map((t) => best.errors.get(t)))} | ${mean(MATLAB_JOINT).toFixed(1)} (${MATLAB_JOINT.filter((e) => e > 5).length} failed) |`,
  );
  console.log(`\nWall-clock time of one joint run (90 epochs): ${runs.map((r) => `${(r.seconds / 60).toFixed(1)} min`).join(', ')}.`);
}

printJoint();
printPerTask('1k', MATLAB_PER_TASK);
printPerTask('10k', null);
