// Prints a run's held-out evaluations (curve.csv rows with an eval_error_bits value) as a Markdown table, every
// Nth evaluation: node scripts/dnc-curve-table.mjs runs/dnc-repeat-copy [EVERY]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [run, everyText = '1'] = process.argv.slice(2);
if (run === undefined) {
  console.error('usage: node scripts/dnc-curve-table.mjs RUN_DIR [EVERY]');
  process.exit(2);
}
const every = Number(everyText);
const rows = readFileSync(join(run, 'curve.csv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => line.split(','))
  .filter((cells) => cells[5] !== '');
console.log('| training sequences | wall time (s, machine shared) | held-out error bits per sequence |\n|---|---|---|');
rows.forEach((cells, i) => {
  if ((i + 1) % every === 0 || i === rows.length - 1)
    console.log(`| ${Number(cells[1]).toLocaleString('en-US')} | ${Math.round(Number(cells[2]))} | ${cells[5]} |`);
});
