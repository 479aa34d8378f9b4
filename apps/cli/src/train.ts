import { existsSync, mkdirSync } from 'node:fs';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type AlgorithmicTaskName, advanceCurriculum, algorithmicTask, curriculumCeiling, curriculumOptions, sampleBatch } from '@engram/datasets';
import { type NtmModel, NonFiniteError, createNtm, defaultNtmConfig, evaluateBatch, loadCheckpoint, saveCheckpoint, saveNtm, trainBatch } from '@engram/ntm';
import { Adam, EngramError, type Optimizer, RMSProp, Random, countParameters, getDefaultBackend, parameterList } from '@engram/tensor';
import { bar, count, formatDuration } from './format.js';
import { plotCurve } from './plot.js';

/** Everything `engram train ntm` can be told. */
export interface TrainOptions {
  task: AlgorithmicTaskName;
  out: string;
  seed: number;
  batch: number;
  optimizer: 'adam' | 'rmsprop';
  learningRate: number;
  clipNorm: number;
  clipValue: number;
  curriculum: boolean;
  /** Stop once held-out sequences score below this many error bits per sequence... */
  until: number;
  /** ...on this many evaluations in a row (so a lucky moment of a noisy run does not count). */
  stable: number;
  maxSequences: number;
  timeLimit: number;
  evalEvery: number;
  evalSize: number;
  checkpointEvery: number;
  resume: boolean;
  hidden: number;
  layers: number;
  controller: 'lstm' | 'feedforward';
  memorySlots: number;
  memoryWidth: number;
  readHeads: number;
  writeHeads: number;
  /** Task options (maxLength...) on top of the paper's defaults. */
  taskOptions: Record<string, number | undefined>;
}

/** Where training output goes (a terminal, or a test's buffer). */
export interface TrainIO {
  /** Writes a status line in place (a TTY) or as a new line every few seconds. */
  status(line: string): void;
  /** Writes a permanent line. */
  log(line: string): void;
  /** True once the user asked to stop (Ctrl-C). */
  interrupted(): boolean;
}

/** How the run ended. */
export type TrainOutcome = 'solved' | 'budget' | 'interrupted' | 'non-finite';

/** Held-out sequences are evaluated this many at a time. */
const EVAL_CHUNK = 100;

/** The header of the learning-curve CSV. */
export const CURVE_HEADER = 'step,sequences,seconds,loss,train_error_bits,eval_error_bits,curriculum_level\n';

function makeOptimizer(options: TrainOptions, model: NtmModel): Optimizer {
  const params = parameterList(model.params);
  return options.optimizer === 'adam' ? new Adam(params, options.learningRate) : new RMSProp(params, options.learningRate, { momentum: 0.9, decay: 0.95 });
}

/**
 * Trains an NTM on an algorithmic task until fresh sequences score under `until` error bits per
 * sequence (or the budget runs out), with a live status line, a checkpoint every
 * `checkpointEvery` steps and on Ctrl-C, a learning curve (CSV + SVG), and the final model.
 */
export async function runTraining(options: TrainOptions, io: TrainIO): Promise<TrainOutcome> {
  const task = algorithmicTask(options.task);
  mkdirSync(options.out, { recursive: true });
  const checkpointPath = join(options.out, 'checkpoint.safetensors');
  const curvePath = join(options.out, 'curve.csv');
  const fullOptions = options.taskOptions;
  const ceiling = curriculumCeiling(options.task, fullOptions);
  const useCurriculum = options.curriculum && ceiling > 0;
  let model: NtmModel;
  let optimizer: Optimizer;
  let rng: Random;
  let step = 0;
  let sequences = 0;
  let secondsBefore = 0;
  let level = useCurriculum ? Math.min(2, ceiling) : ceiling;

  if (options.resume) {
    if (!existsSync(checkpointPath)) throw new EngramError(`--resume: no checkpoint at ${checkpointPath}`);
    const checkpoint = await loadCheckpoint(checkpointPath, new Random(options.seed));
    model = checkpoint.model;
    optimizer = makeOptimizer(options, model);
    optimizer.learningRate = checkpoint.learningRate;
    optimizer.loadState(checkpoint.optimizerState);
    rng = Random.fromState(checkpoint.training.rngState);
    step = checkpoint.training.step;
    sequences = checkpoint.training.sequences;
    secondsBefore = checkpoint.training.seconds;
    level = checkpoint.training.curriculumLevel ?? level;
    // Rows logged after the checkpoint (a run killed before it could save) are dropped: the
    // resumed run recomputes them exactly.
    if (existsSync(curvePath)) {
      const rows = (await readFile(curvePath, 'utf8')).split('\n').filter((line, i) => i === 0 || (line !== '' && Number(line.split(',')[0]) <= step));
      await writeFile(curvePath, `${rows.join('\n')}\n`);
    }
    io.log(`resumed ${checkpointPath} at step ${count(step)} (${count(sequences)} sequences)`);
  } else {
    rng = new Random(options.seed);
    const config = defaultNtmConfig(task.inputWidth(fullOptions), task.outputWidth(fullOptions), {
      controller: { kind: options.controller, hiddenSize: options.hidden, layers: options.layers },
      memorySlots: options.memorySlots,
      memoryWidth: options.memoryWidth,
      readHeads: options.readHeads,
      writeHeads: options.writeHeads,
    });
    model = createNtm(config, rng.fork());
    optimizer = makeOptimizer(options, model);
    await writeFile(curvePath, CURVE_HEADER);
    await writeFile(join(options.out, 'run.json'), `${JSON.stringify({ ...options, started: new Date().toISOString() }, null, 2)}\n`);
  }

  const { config } = model;
  io.log(
    `NTM on '${options.task}': ${config.controller.kind} ${config.controller.hiddenSize}, memory ${config.memorySlots} × ${config.memoryWidth}, ` +
      `${config.readHeads} read / ${config.writeHeads} write heads, ${count(countParameters(model.params))} parameters; ` +
      `${options.optimizer} lr ${options.learningRate}, batch ${options.batch}; backend ${getDefaultBackend().description}`,
  );
  io.log(
    `stops when ${options.evalSize} held-out fresh sequences score < ${options.until} error bits per sequence ${options.stable} evaluation${options.stable > 1 ? 's' : ''} in a row; Ctrl-C saves a checkpoint`,
  );

  // The held-out sequences, drawn once from their own stream, evaluated in chunks to bound memory.
  const evalRng = new Random(options.seed + 1_000_003);
  const evalChunks = Array.from({ length: Math.ceil(options.evalSize / EVAL_CHUNK) }, (_, i) =>
    sampleBatch(task, evalRng, Math.min(EVAL_CHUNK, options.evalSize - i * EVAL_CHUNK), fullOptions),
  );
  const evaluateHeldOut = (): number => evalChunks.reduce((bits, chunk) => bits + evaluateBatch(model, chunk).errorBits * chunk.batch, 0) / options.evalSize;
  const started = performance.now();
  const sequencesAtStart = sequences;
  const elapsed = () => secondsBefore + (performance.now() - started) / 1000;
  let recent: number[] = [];
  let lastEval = Number.NaN;
  let outcome: TrainOutcome = 'budget';
  let lastCheckpoint = step;
  let passes = 0;

  const checkpoint = async () => {
    await saveCheckpoint(checkpointPath, model, optimizer, {
      step,
      sequences,
      seconds: elapsed(),
      rngState: rng.state(),
      curriculumLevel: useCurriculum ? level : null,
      extra: { task: options.task, taskOptions: fullOptions },
    });
    lastCheckpoint = step;
  };

  for (;;) {
    if (io.interrupted()) {
      outcome = 'interrupted';
      break;
    }
    if (sequences >= options.maxSequences || elapsed() >= options.timeLimit) break;
    const stepOptions = useCurriculum ? curriculumOptions(options.task, level, fullOptions) : fullOptions;
    const batch = sampleBatch(task, rng, options.batch, stepOptions);
    let result: ReturnType<typeof trainBatch>;
    try {
      result = trainBatch(model, optimizer, batch, { clipNorm: options.clipNorm, clipValue: options.clipValue, step: step + 1 });
    } catch (error) {
      if (error instanceof NonFiniteError) {
        io.log(`\n${error.message}. The last good checkpoint (step ${count(lastCheckpoint)}) is kept at ${checkpointPath}.`);
        outcome = 'non-finite';
        break;
      }
      throw error;
    }
    step++;
    sequences += options.batch;
    recent.push(result.errorBits);
    if (recent.length > 20) recent.shift();
    const trainBits = recent.reduce((a, b) => a + b, 0) / recent.length;
    if (useCurriculum && level < ceiling && recent.length >= 10) {
      const next = advanceCurriculum(level, trainBits, ceiling);
      if (next !== level) {
        level = next;
        recent = [];
      }
    }
    const atFullRange = !useCurriculum || level >= ceiling;
    let evalBits = Number.NaN;
    if (atFullRange && step % options.evalEvery === 0) {
      evalBits = evaluateHeldOut();
      lastEval = evalBits;
    }
    await appendFile(
      curvePath,
      `${step},${sequences},${elapsed().toFixed(2)},${result.loss.toFixed(5)},${result.errorBits.toFixed(4)},${Number.isNaN(evalBits) ? '' : evalBits.toFixed(4)},${useCurriculum ? level : ''}\n`,
    );
    const sequencesThisRun = sequences - sequencesAtStart;
    const rate = sequencesThisRun / Math.max(1e-9, (performance.now() - started) / 1000);
    // Progress: by budget when there is one, else by error on a log scale from 100 bits down to the goal.
    const byError = (Math.log10(100) - Math.log10(Math.max(trainBits, options.until))) / (Math.log10(100) - Math.log10(options.until));
    const fraction = Number.isFinite(options.maxSequences) ? sequences / options.maxSequences : byError;
    const remaining = Math.min(
      Number.isFinite(options.maxSequences) ? (options.maxSequences - sequences) / Math.max(rate, 1e-9) : Number.POSITIVE_INFINITY,
      options.timeLimit - elapsed(),
    );
    const eta = Number.isFinite(remaining) ? ` | ETA ≤ ${formatDuration(remaining)}` : '';
    io.status(
      `${bar(fraction)} step ${count(step)} | ${count(sequences)} seq | ${rate.toFixed(1)} seq/s | loss ${result.loss.toFixed(3)} | ` +
        `bits/seq ${trainBits.toFixed(3)}${Number.isNaN(lastEval) ? '' : ` (fresh ${lastEval.toFixed(3)})`}${useCurriculum && level < ceiling ? ` | length ≤ ${level}` : ''} | ${formatDuration(elapsed())}${eta}`,
    );
    if (step - lastCheckpoint >= options.checkpointEvery) await checkpoint();
    if (!Number.isNaN(evalBits)) {
      passes = evalBits < options.until ? passes + 1 : 0;
      if (passes >= options.stable) {
        outcome = 'solved';
        break;
      }
    }
    // Let Ctrl-C (and other events) through between steps.
    await new Promise((resolve) => setImmediate(resolve));
  }

  if (outcome !== 'non-finite') await checkpoint();
  if (outcome === 'solved' || outcome === 'budget')
    await saveNtm(join(options.out, 'model.safetensors'), model, { task: options.task, taskOptions: JSON.stringify(fullOptions), step: String(step) });
  await plotCurve(curvePath, join(options.out, 'curve.svg'), `NTM on ${options.task}`);
  const summary = {
    solved: `solved: ${count(sequences)} sequences, ${count(step)} steps, ${formatDuration(elapsed())}; fresh error ${lastEval.toFixed(4)} bits per sequence`,
    budget: `stopped at the budget: ${count(sequences)} sequences, ${formatDuration(elapsed())}; fresh error ${Number.isNaN(lastEval) ? 'not measured yet' : lastEval.toFixed(4)} bits per sequence`,
    interrupted: `interrupted at step ${count(step)}: checkpoint saved; continue with --resume`,
    'non-finite': 'stopped on a non-finite value',
  }[outcome];
  io.log(
    `\n${summary}\nfiles in ${options.out}: checkpoint.safetensors${outcome === 'solved' || outcome === 'budget' ? ', model.safetensors' : ''}, curve.csv, curve.svg`,
  );
  return outcome;
}
