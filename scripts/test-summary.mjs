// Reads the output of `pnpm test` (turbo running vitest in every package, then the pack check) and
// prints one closing line, "N passed, N failed, N skipped", summed over all of it.
import { readFileSync } from 'node:fs';

const ESCAPE = String.fromCharCode(27);
// Strip terminal colour codes (ESC [ … m).
const text = readFileSync(process.argv[2] ?? 0, 'utf8').replace(new RegExp(`${ESCAPE}\\[[0-9;]*m`, 'g'), '');
let passed = 0;
let failed = 0;
let skipped = 0;
for (const line of text.split('\n')) {
  const tests = /\bTests\s+(.*)\(\d+\)\s*$/.exec(line);
  if (tests) {
    const part = tests[1] ?? '';
    passed += Number(/(\d+) passed/.exec(part)?.[1] ?? 0);
    failed += Number(/(\d+) failed/.exec(part)?.[1] ?? 0);
    skipped += Number(/(\d+) skipped/.exec(part)?.[1] ?? 0);
  }
  const pack = /^pack-check: (\d+) of (\d+) packages/.exec(line);
  if (pack) {
    passed += Number(pack[1]);
    failed += Number(pack[2]) - Number(pack[1]);
  }
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
