// Proves every publishable package installs and works outside the workspace: `pnpm pack` each
// one, `npm install` the tarballs into a scratch project in the system temp folder, then import
// each package there and run a small check with it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'engram-pack-'));
const tarballs = join(scratch, 'tarballs');
const project = join(scratch, 'project');

/** Per-package checks run in the scratch project; each must print "ok". */
const checks = {
  '@engram/tensor': `
    import { tensor, matmul, Random, randomNormal, saveSafetensors, loadSafetensors, getDefaultBackend } from '@engram/tensor';
    const y = matmul(tensor([[1, 2]]), tensor([[3], [4]]));
    if (y.item() !== 11) throw new Error('matmul gave ' + y.item());
    const w = randomNormal([3, 2], new Random(1));
    const back = loadSafetensors(saveSafetensors({ w })).tensors.w;
    if (back.toArray().join() !== w.toArray().join()) throw new Error('safetensors round trip failed');
    if (!getDefaultBackend().description.includes('WebAssembly')) throw new Error('wasm matmul did not load: ' + getDefaultBackend().description);
    const { createGpuBackend } = await import('@engram/tensor/gpu');
    const gpu = await createGpuBackend({ onFallback: () => {} });
    if (gpu.usingGpu || !/gpu\\.js/.test(gpu.fallbackReason)) throw new Error('expected a clean fallback without gpu.js: ' + gpu.fallbackReason);
    console.log('ok');
  `,
  '@engram/addressing': `
    import { tensor } from '@engram/tensor';
    import { convolutionalShift, read } from '@engram/addressing';
    const w = convolutionalShift(tensor([[1, 0, 0, 0]]), tensor([[0, 0, 1]]));
    if (w.toArray().join() !== '0,1,0,0') throw new Error('shift gave ' + w.toArray().join());
    const r = read(tensor([[[1, 2], [3, 4]]]), tensor([[0, 1]]));
    if (r.toArray().join() !== '3,4') throw new Error('read gave ' + r.toArray().join());
    console.log('ok');
  `,
  '@engram/controllers': `
    import { Random, randomNormal, sum } from '@engram/tensor';
    import { createLstm, initialLstmState, lstmStep } from '@engram/controllers';
    const lstm = createLstm(3, 4, new Random(1));
    const { output } = lstmStep(lstm, initialLstmState(lstm, 2), randomNormal([2, 3], new Random(2)));
    sum(output).backward();
    if (output.shape.join() !== '2,4' || lstm.layers[0].weight.grad === null) throw new Error('lstm step failed');
    console.log('ok');
  `,
  '@engram/datasets': `
    import { Random } from '@engram/tensor';
    import { copyTask, sampleBatch } from '@engram/datasets';
    const b = sampleBatch(copyTask, new Random(1), 4, { maxLength: 5 });
    if (b.inputWidth !== 9 || b.batch !== 4) throw new Error('bad batch');
    console.log('ok');
  `,
  '@engram/ntm': `
    import { Random, parameterList, Adam } from '@engram/tensor';
    import { copyTask, sampleBatch } from '@engram/datasets';
    import { createNtm, defaultNtmConfig, trainBatch } from '@engram/ntm';
    const model = createNtm(defaultNtmConfig(9, 8, { memorySlots: 16, memoryWidth: 4, controller: { kind: 'lstm', hiddenSize: 8, layers: 1 } }), new Random(1));
    const r = trainBatch(model, new Adam(parameterList(model.params)), sampleBatch(copyTask, new Random(2), 2, { maxLength: 3 }));
    if (!Number.isFinite(r.loss)) throw new Error('loss not finite');
    console.log('ok');
  `,
  '@engram/memnet': `
    import { Random } from '@engram/tensor';
    import { parseBabi, Vocabulary } from '@engram/datasets';
    import { answerQuestions, createMemnet, defaultMemnetConfig, trainMemnet, PER_TASK_SCHEDULE } from '@engram/memnet';
    const examples = parseBabi('1 Mary went to the garden.\\n2 John went to the office.\\n3 Where is Mary?\\tgarden\\t1\\n');
    const vocabulary = Vocabulary.fromExamples(examples);
    const model = createMemnet(defaultMemnetConfig(vocabulary.size, { embeddingSize: 8 }), new Random(1));
    await trainMemnet(model, examples, vocabulary, { schedule: { ...PER_TASK_SCHEDULE, linearStartEpochs: 1, epochs: 2 } });
    const [reply] = answerQuestions(model, vocabulary, examples);
    if (reply.attention.length !== 3 || reply.attention[0].length !== 2) throw new Error('bad attention');
    console.log('ok');
  `,
  '@engram/lm': `
    import { Random } from '@engram/tensor';
    import { LmVocabulary, cacheGrid, createLm, lmFromSafetensors, lmToSafetensors, runText, trainLm } from '@engram/lm';
    const recipe = { model: { embeddingSize: 8, hiddenSize: 8, layers: 1, dropout: 0, tied: true, initScale: 0.1 }, batch: 2, unroll: 5, epochs: 1, learningRate: 1, decayAfter: 1, decay: 2, maxGradNorm: 5 };
    const ids = Int32Array.from({ length: 200 }, (_, i) => i % 5);
    const model = createLm({ ...recipe.model, vocabularySize: 5 }, new Random(1));
    const outcome = await trainLm(model, { train: ids, valid: ids.subarray(0, 50) }, { recipe });
    if (outcome.kind !== 'finished') throw new Error('training did not finish: ' + outcome.kind);
    const back = lmFromSafetensors(lmToSafetensors(model, new LmVocabulary(['a', 'b', 'c', 'd', 'e']))).model;
    const [point] = cacheGrid(runText(back, ids.subarray(0, 60)), { sizes: [10], thetas: [0.5], lambdas: [0.1] });
    if (!(point.perplexity > 0)) throw new Error('bad perplexity');
    console.log('ok');
  `,
  '@engram/dnc': `
    import { Random } from '@engram/tensor';
    import { algorithmicTask, sampleBatch } from '@engram/datasets';
    import { trainBatch } from '@engram/ntm';
    import { createDnc, defaultDncConfig, dncFromSafetensors, dncRecurrent, dncToSafetensors, inspectDnc } from '@engram/dnc';
    import { ntmOptimizer } from '@engram/ntm';
    const model = createDnc(defaultDncConfig(5, 4, { memorySlots: 6, memoryWidth: 4, controller: { kind: 'lstm', hiddenSize: 8, layers: 1 } }), new Random(1));
    const r = trainBatch(dncRecurrent(model), ntmOptimizer(dncRecurrent(model)), sampleBatch(algorithmicTask('copy'), new Random(2), 2, { width: 4, maxLength: 3 }));
    if (!Number.isFinite(r.loss)) throw new Error('loss not finite');
    const back = dncFromSafetensors(dncToSafetensors(model)).model;
    const { steps, links } = inspectDnc(back, [[1, 0, 1, 0, 0], [0, 0, 0, 0, 1]]);
    if (steps.length !== 2 || links.length !== 1) throw new Error('bad inspection');
    console.log('ok');
  `,
  engram: `
    import { execFileSync } from 'node:child_process';
    const out = execFileSync('node_modules/.bin/engram', ['help'], { encoding: 'utf8' });
    if (!out.includes('engram train ntm') || !out.includes('engram train dnc') || !out.includes('engram train memnet') || !out.includes('engram train lm')) throw new Error('unexpected help: ' + out);
    console.log('ok');
  `,
};

const packages = ['packages', 'apps']
  .filter((dir) => existsSync(join(root, dir)))
  .flatMap((dir) =>
    readdirSync(join(root, dir), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => join(root, dir, d.name)),
  )
  .filter((dir) => {
    try {
      return !JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).private;
    } catch {
      return false;
    }
  });

try {
  for (const dir of packages) {
    execFileSync('pnpm', ['pack', '--pack-destination', tarballs], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  // Every tarball carries the licence and says which Node it needs.
  for (const file of readdirSync(tarballs)) {
    const listing = execFileSync('tar', ['-tzf', join(tarballs, file)], { encoding: 'utf8' });
    if (!listing.split('\n').includes('package/LICENSE')) throw new Error(`pack-check: ${file} has no LICENSE`);
  }
  for (const dir of packages) {
    if (!JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).engines?.node) throw new Error(`pack-check: ${dir}/package.json has no engines.node`);
  }
  const files = readdirSync(tarballs).map((f) => join(tarballs, f));
  execFileSync('mkdir', ['-p', project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...files], { cwd: project, stdio: 'inherit' });
  let failed = 0;
  for (const dir of packages) {
    const { name } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const code = checks[name] ?? `const m = await import('${name}'); if (Object.keys(m).length === 0) throw new Error('no exports'); console.log('ok');`;
    const file = join(project, `check-${name.replace(/\W/g, '-')}.mjs`);
    writeFileSync(file, code);
    try {
      const out = execFileSync(process.execPath, [file], { cwd: project, encoding: 'utf8' });
      if (!out.includes('ok')) throw new Error(out);
      // CommonJS users: require() of the ES module (Node ≥ 20.19) through the exports map's default condition.
      const required = execFileSync(
        process.execPath,
        ['-e', `const m = require('${name}'); if (Object.keys(m).length === 0) throw new Error('no exports'); console.log('ok');`],
        {
          cwd: project,
          encoding: 'utf8',
        },
      );
      if (!required.includes('ok')) throw new Error(`require('${name}'): ${required}`);
      console.log(`pack-check: ${name} installs from its tarball and works (import and require)`);
    } catch (error) {
      failed++;
      console.error(`pack-check: ${name} FAILED outside the workspace:\n${error.stderr ?? error.message}`);
    }
  }
  console.log(`pack-check: ${packages.length - failed} of ${packages.length} packages install and work outside the workspace`);
  process.exitCode = failed === 0 ? 0 : 1;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
