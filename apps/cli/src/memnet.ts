import { existsSync } from 'node:fs';
import { prepareRunFolder } from './run-folder.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { appendText, writeText } from './files.js';
import { BABI_TASKS, type BabiExample, Vocabulary, loadBabiTask, tokenize } from '@engram/datasets';
import {
  JOINT_SCHEDULE,
  type MemnetAnswer,
  type MemnetModel,
  type EmptySlots,
  type MemnetSchedule,
  type MemnetTrainingState,
  PER_TASK_SCHEDULE,
  type SentenceEncoding,
  answerQuestions,
  createMemnet,
  evaluateMemnet,
  loadMemnet,
  loadMemnetCheckpoint,
  memnetConfigFor,
  saveMemnet,
  saveMemnetCheckpoint,
  splitValidation,
  totalEpochs,
  trainMemnet,
  unknownWords,
} from '@engram/memnet';
import { EngramError, NonFiniteError, Random, SGD, countParameters, getDefaultBackend, parameterList } from '@engram/tensor';
import { bar, count, formatDuration } from './format.js';
import { plotMemnetCurve } from './plot.js';
import type { TrainIO, TrainOutcome } from './train.js';

/** Everything `engram train memnet` can be told. */
export interface MemnetTrainOptions {
  /** bAbI tasks (1..20) trained together; all 20 for joint training. */
  tasks: number[];
  /** Folder with the release's `en/` and `en-10k/` folders. */
  data: string;
  /** Use the 10k training sets. */
  tenK: boolean;
  /** Run folder. */
  out: string;
  /** Seed for initialisation, the validation split, shuffling and time noise. */
  seed: number;
  /** Embedding width d (paper: 20 per task, 50 joint). */
  embedding: number;
  /** Hops K. */
  hops: number;
  /** Sentence representation (default: the official code's position encoding). */
  encoding: SentenceEncoding;
  /** Empty memory slots: take part in the attention (the official code) or masked. */
  emptySlots: EmptySlots;
  /** The training recipe. */
  schedule: MemnetSchedule;
  /** Fraction of each task's training set held out for validation. */
  validationFraction: number;
  /** Continue from the run's checkpoint. */
  resume: boolean;
}

/** The test error of one task. */
export interface TaskResult {
  /** 1..20. */
  task: number;
  /** Test error (fraction). */
  error: number;
  /** Test questions. */
  count: number;
}

/** The header of the memnet learning-curve CSV. */
export const MEMNET_CURVE_HEADER = 'epoch,phase,learning_rate,train_loss,train_error,validation_loss,validation_error,seconds\n';

/** Per-task or joint recipe for a set of tasks. */
export function scheduleFor(tasks: readonly number[]): MemnetSchedule {
  return tasks.length > 1 ? { ...JOINT_SCHEDULE } : { ...PER_TASK_SCHEDULE };
}

/** The split folder of a bAbI release: `en` or `en-10k`. */
export function babiFolder(data: string, tenK: boolean): string {
  return join(data, tenK ? 'en-10k' : 'en');
}

async function loadSplit(options: Pick<MemnetTrainOptions, 'tasks' | 'data' | 'tenK'>, split: 'train' | 'test'): Promise<BabiExample[][]> {
  const folder = babiFolder(options.data, options.tenK && split === 'train');
  if (!existsSync(folder)) throw new EngramError(`no bAbI data at ${folder} (get it with 'engram download babi --to ${options.data}', or pass --data DIR)`);
  return Promise.all(options.tasks.map((task) => loadBabiTask(folder, task, split)));
}

/** Test error per task, and the mean. */
export function evaluateTasks(model: MemnetModel, vocabulary: Vocabulary, tasks: readonly number[], tests: readonly BabiExample[][]): TaskResult[] {
  return tasks.map((task, i) => {
    const result = evaluateMemnet(model, tests[i] as BabiExample[], vocabulary);
    return { task, error: result.error, count: result.count };
  });
}

/** A Markdown table of per-task test errors, with the mean and the number of failed tasks (> 5%). */
export function resultsTable(results: readonly TaskResult[]): string {
  const rows = results.map((r) => `| ${r.task} ${(BABI_TASKS[r.task - 1] ?? '').replace(/^qa\d+_/, '')} | ${(100 * r.error).toFixed(1)} |`);
  const mean = results.reduce((s, r) => s + r.error, 0) / Math.max(results.length, 1);
  const failed = results.filter((r) => r.error > 0.05).length;
  return ['| task | test error % |', '|---|---|', ...rows, `| **mean** | **${(100 * mean).toFixed(1)}** (failed tasks, > 5%: ${failed}) |`].join('\n');
}

/**
 * Trains a MemN2N on bAbI with the paper's recipe, an epoch line at a time: live status, a
 * checkpoint after every epoch (atomic; `--resume` continues exactly), a learning curve, then the
 * test error of every task and the final model.
 */
export async function runMemnetTraining(options: MemnetTrainOptions, io: TrainIO): Promise<TrainOutcome> {
  prepareRunFolder(options.out, '--out', true);
  const checkpointPath = join(options.out, 'checkpoint.safetensors');
  const curvePath = join(options.out, 'curve.csv');
  const trains = await loadSplit(options, 'train');
  const tests = await loadSplit(options, 'test');
  // Each task's validation examples are held out with the run's seed, so a resumed run holds out the same ones.
  const splitRng = new Random(options.seed + 7919);
  const splits = trains.map((examples) => splitValidation(examples, options.validationFraction, splitRng));
  const train = splits.flatMap((s) => s.train);
  const validation = splits.flatMap((s) => s.validation);
  let model: MemnetModel;
  let vocabulary: Vocabulary;
  let optimizer: SGD;
  let resume: MemnetTrainingState | undefined;
  if (options.resume) {
    if (!existsSync(checkpointPath)) throw new EngramError(`--resume: no checkpoint at ${checkpointPath}`);
    const checkpoint = await loadMemnetCheckpoint(checkpointPath);
    model = checkpoint.model;
    vocabulary = checkpoint.vocabulary;
    optimizer = new SGD(parameterList(model.params), options.schedule.learningRate);
    optimizer.loadState(checkpoint.optimizerState);
    resume = checkpoint.training;
    if (existsSync(curvePath)) {
      const rows = (await readFile(curvePath, 'utf8'))
        .split('\n')
        .filter((line, i) => i === 0 || (line !== '' && Number(line.split(',')[0]) < checkpoint.training.epoch));
      await writeText(curvePath, `${rows.join('\n')}\n`);
    }
    io.log(`resumed ${checkpointPath} after epoch ${checkpoint.training.epoch}`);
  } else {
    // The official code builds its dictionary from the training and test files.
    vocabulary = Vocabulary.fromExamples([...trains.flat(), ...tests.flat()]);
    const config = memnetConfigFor(vocabulary, trains.flat(), tests.flat(), {
      embeddingSize: options.embedding,
      hops: options.hops,
      encoding: options.encoding,
      emptySlots: options.emptySlots,
    });
    model = createMemnet(config, new Random(options.seed));
    optimizer = new SGD(parameterList(model.params), options.schedule.learningRate);
    resume = undefined;
    await writeText(curvePath, MEMNET_CURVE_HEADER);
    await writeText(join(options.out, 'run.json'), `${JSON.stringify({ model: 'memnet', ...options, started: new Date().toISOString() }, null, 2)}\n`);
  }
  const { config } = model;
  const epochs = totalEpochs(options.schedule);
  const s = options.schedule;
  io.log(
    `MemN2N on bAbI ${options.tenK ? '10k' : '1k'} task${options.tasks.length > 1 ? `s ${options.tasks[0]}–${options.tasks[options.tasks.length - 1]} (joint)` : ` ${options.tasks[0]}`}: ` +
      `${train.length} training / ${validation.length} validation questions, vocabulary ${vocabulary.size}; ${config.hops} hops, d = ${config.embeddingSize}, ` +
      `memory ${config.memorySize} (empty slots: ${config.emptySlots}), ${config.tying} tying, ${config.encoding} encoding${config.temporal ? ' + temporal' : ''}; ${countParameters(model.params)} parameters; backend ${getDefaultBackend().description}`,
  );
  io.log(
    `recipe: ${s.linearStartEpochs > 0 ? `linear start ${s.linearStartEpochs} epochs at η ${s.linearStartLearningRate}, then ` : ''}${s.epochs} epochs, η halved every ${s.decayEvery}; ` +
      `batch ${s.batchSize}, gradient norm ≤ ${s.maxGradNorm} (${s.clipping}), time noise ${s.timeNoise}; Ctrl-C stops after the current epoch with a checkpoint`,
  );
  const metadata = { tasks: JSON.stringify(options.tasks), tenK: String(options.tenK), seed: String(options.seed), schedule: JSON.stringify(options.schedule) };
  const started = performance.now();
  // Set inside the epoch callback; the cast keeps TypeScript from narrowing it to its first value.
  let outcome = 'budget' as TrainOutcome;
  try {
    await trainMemnet(model, train, vocabulary, {
      schedule: options.schedule,
      seed: options.seed,
      validation,
      optimizer,
      resume,
      onEpoch: async (report, state) => {
        await saveMemnetCheckpoint(checkpointPath, model, vocabulary, optimizer, state, metadata);
        await appendText(
          curvePath,
          `${report.epoch},${report.phase},${report.learningRate},${report.trainLoss.toFixed(5)},${report.trainError.toFixed(5)},${report.validationLoss.toFixed(5)},${report.validationError.toFixed(5)},${report.seconds.toFixed(3)}\n`,
        );
        const seconds = (performance.now() - started) / 1000;
        const done = report.epoch + 1 - (resume?.epoch ?? 0);
        const eta = (seconds / done) * (epochs - report.epoch - 1);
        io.log(
          `${bar((report.epoch + 1) / epochs)} epoch ${report.epoch + 1}/${epochs} ${report.phase === 'linear' ? 'linear start' : 'main'} | η ${report.learningRate.toPrecision(3)} | ` +
            `loss ${report.trainLoss.toFixed(3)} | train error ${(100 * report.trainError).toFixed(1)}% | validation error ${(100 * report.validationError).toFixed(1)}% | ` +
            `${(1 / report.seconds).toFixed(2)} epochs/s | ${formatDuration(seconds)} | ETA ${formatDuration(eta)}`,
        );
        await new Promise((resolve) => setImmediate(resolve));
        if (io.interrupted()) {
          outcome = 'interrupted';
          return 'stop';
        }
        return undefined;
      },
    });
  } catch (error) {
    if (!(error instanceof NonFiniteError)) throw error;
    io.log(
      `\n${error.message}. ${existsSync(checkpointPath) ? `The last good checkpoint is kept at ${checkpointPath}.` : 'No checkpoint had been written yet.'}`,
    );
    return 'non-finite';
  }
  await plotMemnetCurve(curvePath, join(options.out, 'curve.svg'), `MemN2N on bAbI task${options.tasks.length > 1 ? 's (joint)' : ` ${options.tasks[0]}`}`);
  if (outcome === 'interrupted') {
    io.log(`interrupted: checkpoint saved in ${options.out}; continue with --resume`);
    return outcome;
  }
  const results = evaluateTasks(model, vocabulary, options.tasks, tests);
  await saveMemnet(join(options.out, 'model.safetensors'), model, vocabulary, metadata);
  await writeText(join(options.out, 'results.json'), `${JSON.stringify({ tasks: results, seconds: (performance.now() - started) / 1000 }, null, 2)}\n`);
  io.log(`\ntest error after ${formatDuration((performance.now() - started) / 1000)}:\n${resultsTable(results)}`);
  io.log(`files in ${options.out}: model.safetensors, checkpoint.safetensors, curve.csv, curve.svg, results.json`);
  return outcome;
}

/** Reads a memnet run folder's model and what it was trained on. */
export async function loadMemnetRun(run: string): Promise<{ model: MemnetModel; vocabulary: Vocabulary; tasks: number[]; tenK: boolean; path: string }> {
  const path = [join(run, 'model.safetensors'), join(run, 'checkpoint.safetensors'), run].find((p) => p.endsWith('.safetensors') && existsSync(p));
  if (path === undefined) throw new EngramError(`no model in ${run} (expected model.safetensors or checkpoint.safetensors)`);
  const { model, vocabulary, metadata } = await loadMemnet(path);
  const tasks = metadata.tasks ? (JSON.parse(metadata.tasks) as number[]) : [];
  return { model, vocabulary, tasks, tenK: metadata.tenK === 'true', path };
}

/** True when a run folder (or file) holds a MemN2N rather than an NTM. */
export async function isMemnetRun(run: string): Promise<boolean> {
  if (existsSync(join(run, 'run.json'))) {
    const info = JSON.parse(await readFile(join(run, 'run.json'), 'utf8')) as { model?: string };
    return info.model === 'memnet';
  }
  return false;
}

/** Splits free text into sentences on `.`, `?`, `!` or new lines, and tokenises each. */
export function parseStory(text: string): string[][] {
  return text
    .split(/[.!?\n]+/)
    .map(tokenize)
    .filter((s) => s.length > 0);
}

/** Width of one hop's column in {@link renderAnswer}: a 5-character bar, a space, the weight. */
const HOP_COLUMN = 10;

/** Renders an answer with each hop's attention over the story, supporting facts starred. */
export function renderAnswer(
  story: readonly string[][],
  question: readonly string[],
  reply: MemnetAnswer,
  supportingFacts: readonly number[] = [],
  expected?: string,
): string {
  const hops = reply.attention.length;
  const lines = [
    `question: ${question.join(' ')}?`,
    `answer:   ${reply.answer} (p = ${reply.probability.toFixed(3)})${expected === undefined ? '' : reply.answer === expected ? '  ✓' : `  ✗ (expected ${expected})`}`,
    '',
    `${Array.from({ length: hops }, (_, k) => `hop ${k + 1}`.padEnd(HOP_COLUMN)).join(' ')}   sentence${supportingFacts.length > 0 ? ' (* supporting fact)' : ''}`,
  ];
  story.forEach((sentence, i) => {
    const weights = reply.attention.map((hop) => {
      const w = hop[i] ?? 0;
      return `${bar(w, 5).slice(1, -1)} ${w.toFixed(2)}`.padEnd(HOP_COLUMN);
    });
    const mark = supportingFacts.includes(i) ? '*' : ' ';
    lines.push(`${weights.join(' ')} ${mark} ${i + 1}. ${shortSentence(sentence)}${i < reply.firstInMemory ? '  (older than the memory)' : ''}`);
  });
  return lines.join('\n');
}

/** Answers a question with a trained model, checking the words first. */
export function ask(model: MemnetModel, vocabulary: Vocabulary, story: string[][], question: string[]): MemnetAnswer {
  if (story.length === 0) throw new EngramError('--story: the story has no words (one sentence per line or ending in .)');
  if (question.length === 0) throw new EngramError('--question: the question has no words');
  const unknown = unknownWords({ story, question, answer: [], supportingFacts: [] }, vocabulary);
  if (unknown.length > 0)
    throw new EngramError(`the model does not know ${unknown.map((w) => `'${w}'`).join(', ')} (its vocabulary: ${vocabulary.words.slice(1).join(' ')})`);
  return answerQuestions(model, vocabulary, [{ story, question }])[0] as MemnetAnswer;
}

/** A sentence as printed: its first 24 words, and how many there are when it is longer. */
function shortSentence(words: readonly string[]): string {
  const shown = 24;
  return words.length <= shown ? words.join(' ') : `${words.slice(0, shown).join(' ')} … (${count(words.length)} words)`;
}
