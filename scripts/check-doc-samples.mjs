// Compiles and runs every TypeScript sample of the documentation guides, so the docs cannot drift
// from the code. Each ```ts block of docs/guides/*.md becomes docs/.samples/<guide>-<n>.ts; all are
// type-checked together with the workspace packages' types (strict), then each is transpiled and run
// with Node from docs/ (where the @engram packages resolve). A failure names the guide and line.
// Usage: node scripts/check-doc-samples.mjs   (ENGRAM_BABI_URL: where downloadBabi fetches; by default the
// local copy in ../shared/data/babi when present)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const docs = join(root, 'docs');
const guides = join(docs, 'guides');
const out = join(docs, '.samples');
const SAMPLE_TIMEOUT_MS = 300_000;

const ts = (await import(pathToFileURL(join(docs, 'node_modules', 'typescript', 'lib', 'typescript.js')).href)).default;

/** ```ts blocks with the line of their first code line. */
function samples(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const found = [];
  let start = -1;
  for (const [i, line] of lines.entries()) {
    if (start < 0 && line.trim() === '```ts') start = i + 1;
    else if (start >= 0 && line.trim() === '```') {
      found.push({ line: start + 1, code: lines.slice(start, i).join('\n') });
      start = -1;
    }
  }
  return found;
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const all = [];
for (const name of readdirSync(guides)
  .filter((f) => f.endsWith('.md'))
  .sort()) {
  samples(join(guides, name)).forEach((sample, i) => {
    const file = join(out, `${name.replace(/\.md$/, '')}-${i + 1}.ts`);
    // A sample is a module of its own (top-level await, no shared names).
    writeFileSync(file, `${sample.code}\nexport {};\n`);
    all.push({ ...sample, guide: `docs/guides/${name}`, file });
  });
}
writeFileSync(
  join(out, 'tsconfig.json'),
  JSON.stringify({
    compilerOptions: { strict: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', noEmit: true, skipLibCheck: true, types: ['node'] },
    include: ['*.ts'],
  }),
);
const tsc = spawnSync(process.execPath, [join(docs, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(out, 'tsconfig.json')], {
  encoding: 'utf8',
  cwd: docs,
});
if (tsc.status !== 0) {
  // Map .samples/<guide>-<n>.ts(line,col) back to the guide's line.
  const text = `${tsc.stdout}${tsc.stderr}`.replace(/(?:docs\/)?\.samples\/([\w-]+)-(\d+)\.ts\((\d+),(\d+)\)/g, (_, guide, n, line) => {
    const sample = all.find((s) => s.file === join(out, `${guide}-${n}.ts`));
    return `docs/guides/${guide}.md:${(sample?.line ?? 0) + Number(line) - 1}`;
  });
  console.error(`doc samples: type errors\n${text}`);
  process.exit(1);
}
console.log(`doc samples: ${all.length} samples type-check`);

const localBabi = join(root, '..', 'shared', 'data', 'babi');
const env = { ...process.env, ENGRAM_BABI_URL: process.env.ENGRAM_BABI_URL ?? (existsSync(localBabi) ? `${pathToFileURL(localBabi).href}/` : undefined) };
if (env.ENGRAM_BABI_URL === undefined) delete env.ENGRAM_BABI_URL;
let failed = 0;
for (const sample of all) {
  const js = ts.transpileModule(readFileSync(sample.file, 'utf8'), {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  }).outputText;
  const runnable = sample.file.replace(/\.ts$/, '.mjs');
  writeFileSync(runnable, js);
  const started = performance.now();
  const run = spawnSync(process.execPath, [runnable], { cwd: docs, env, encoding: 'utf8', timeout: SAMPLE_TIMEOUT_MS });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (run.status === 0) console.log(`doc sample ${sample.guide}:${sample.line} runs (${seconds} s)`);
  else {
    failed++;
    console.error(`doc sample ${sample.guide}:${sample.line} FAILED (${run.signal ?? `exit ${run.status}`}, ${seconds} s):\n${run.stdout}${run.stderr}`);
  }
}
console.log(`doc samples: ${all.length - failed} of ${all.length} run`);
process.exitCode = failed === 0 ? 0 : 1;
