/**
 * The DNC on bAbI (Graves et al. 2016, Methods, "bAbI"): each story is read word by word, its questions in
 * place, one word a step as a one-hot vector; after each question the answer's words are asked for by '-'
 * steps, where the network's output is a softmax over the vocabulary scored by cross-entropy. One model on
 * all tasks at once (10k examples each), with the paper's sizes: an LSTM controller of 256, memory 256 × 64,
 * four read heads and one write head.
 */
import { type BabiEpisode, type BabiExample, Vocabulary, babiEpisodes } from '@engram/datasets';
import type { NtmRecipe } from '@engram/ntm';
import { EngramError, type Tensor, concat, crossEntropy, gather, mul, noGrad, parameterList, tensor } from '@engram/tensor';
import type { DncConfig } from './config.js';
import { type DncKernelBatch, dncKernelSequence } from './fused-sequence.js';
import { type DncModel, dncRecurrent } from './model.js';

/** The symbols the DNC reads besides words: the end of a sentence, the end of a question, and "answer now". */
export const BABI_SYMBOLS: Readonly<BabiSymbols> = Object.freeze({ sentenceEnd: '.', questionEnd: '?', answer: '-' });

/** The symbols of {@link BABI_SYMBOLS}. */
export interface BabiSymbols {
  /** Read after each sentence. */
  sentenceEnd: string;
  /** Read after each question. */
  questionEnd: string;
  /** Read once per answer word: the step where the answer is scored. */
  answer: string;
}

/** The paper's bAbI model: LSTM 256, memory 256 × 64, 4 read heads, 1 write head (outputs clipped to ±20 as deepmind/dnc). */
export const DNC_BABI_SIZES: Readonly<Omit<DncConfig, 'inputSize' | 'outputSize'>> = Object.freeze({
  controller: { kind: 'lstm' as const, hiddenSize: 256, layers: 1 },
  memorySlots: 256,
  memoryWidth: 64,
  readHeads: 4,
  writeHeads: 1,
  clip: 20,
});

/**
 * The paper's bAbI optimizer: RMSProp η 1e-4 with momentum 0.9 (TensorFlow's: decay 0.9, ε 1e-10, not
 * centered), one story per step, the global gradient norm clipped to 50 (deepmind/dnc's).
 */
export const DNC_BABI_RECIPE: Readonly<NtmRecipe> = Object.freeze({
  optimizer: 'rmsprop',
  learningRate: 1e-4,
  momentum: 0.9,
  decay: 0.9,
  centered: false,
  epsilon: 1e-10,
  batch: 1,
  clipValue: 0,
  clipNorm: 50,
});

/**
 * The DNC's vocabulary for bAbI: every word of the examples' stories, questions and answers, sorted, then the
 * three symbols of {@link BABI_SYMBOLS}; index 0 is padding (never read).
 * @param examples - the examples whose words it holds (all tasks' training examples)
 */
export function babiVocabulary(examples: readonly BabiExample[]): Vocabulary {
  const words = new Set<string>();
  for (const e of examples) {
    for (const s of e.story) for (const w of s) words.add(w);
    for (const w of e.question) words.add(w);
    for (const w of e.answer) words.add(w);
  }
  const vocabulary = new Vocabulary();
  for (const w of [...words].sort()) vocabulary.add(w);
  for (const symbol of Object.values(BABI_SYMBOLS)) vocabulary.add(symbol);
  return vocabulary;
}

/** One story encoded for the DNC: a word id per step, and the answer word expected at each '-' step. */
export interface BabiSequence {
  /** Word ids, one per step. */
  inputs: Int32Array;
  /** The answer word's id at each '-' step, −1 elsewhere. */
  targets: Int32Array;
  /** Per question, the steps of its answer words (a question is right when all of them are). */
  questions: number[][];
  /** The bAbI task it came from (1..20). */
  task: number;
}

/**
 * Encodes a story: each sentence's words then '.', each question's words then '?', then one '-' per answer
 * word, whose step is scored against that word. A word outside the vocabulary is an error naming it.
 * @param episode - the story with its questions in place ({@link babiEpisodes})
 * @param vocabulary - the DNC's vocabulary ({@link babiVocabulary})
 * @param task - the bAbI task it came from
 */
export function encodeBabiEpisode(episode: BabiEpisode, vocabulary: Vocabulary, task: number): BabiSequence {
  const id = (word: string): number => {
    const index = vocabulary.indexOf(word);
    if (index === undefined || index === 0) throw new EngramError(`bAbI: the word '${word}' (task ${task}) is not in the model's vocabulary`);
    return index;
  };
  const inputs: number[] = [];
  const targets: number[] = [];
  const questions: number[][] = [];
  const read = (word: string, target = -1) => {
    inputs.push(id(word));
    targets.push(target);
  };
  for (const line of episode.lines) {
    for (const w of line.words) read(w);
    if (line.kind === 'sentence') read(BABI_SYMBOLS.sentenceEnd);
    else {
      read(BABI_SYMBOLS.questionEnd);
      questions.push(
        line.answer.map((w) => {
          read(BABI_SYMBOLS.answer, id(w));
          return inputs.length - 1;
        }),
      );
    }
  }
  return { inputs: Int32Array.from(inputs), targets: Int32Array.from(targets), questions, task };
}

/**
 * Every story of some tasks' examples, encoded.
 * @param tasks - per task (1..20), its examples in file order
 * @param vocabulary - the DNC's vocabulary
 */
export function encodeBabiTasks(tasks: ReadonlyMap<number, readonly BabiExample[]>, vocabulary: Vocabulary): BabiSequence[] {
  return [...tasks].flatMap(([task, examples]) => babiEpisodes(examples).map((episode) => encodeBabiEpisode(episode, vocabulary, task)));
}

/** What {@link babiLoss} returns. */
export interface BabiLoss {
  /** Cross-entropy summed over the answer words, divided by `divideBy` (a scalar). */
  loss: Tensor;
  /** Questions answered wrong (any answer word's arg max wrong). */
  wrong: number;
  /** Questions asked. */
  questions: number;
  /** Per task: [wrong, asked]. */
  perTask: Map<number, [number, number]>;
}

/**
 * Runs the DNC over stories side by side (shorter ones padded with zero inputs) and scores every '-' step.
 * @param model - the DNC (input and output widths = the vocabulary's size)
 * @param sequences - the stories
 * @param divideBy - what the summed cross-entropy is divided by (default the number of stories)
 */
export function babiLoss(model: DncModel, sequences: readonly BabiSequence[], divideBy = sequences.length): BabiLoss {
  const { steps, batch, inputs, targets: answersAt } = encodeBabiBatch(model, sequences);
  const width = model.config.inputSize;
  const recurrent = dncRecurrent(model);
  let state = recurrent.initialState(batch);
  const scored: Tensor[] = [];
  const targets: number[] = [];
  // Where each story's answer word t landed among the scored rows, to mark questions right or wrong.
  const rowOf = sequences.map(() => new Map<number, number>());
  for (let t = 0; t < steps; t++) {
    const rows: number[] = [];
    for (let b = 0; b < batch; b++) {
      const target = answersAt[t * batch + b] as number;
      if (target < 0) continue;
      (rowOf[b] as Map<number, number>).set(t, targets.length);
      rows.push(b);
      targets.push(target);
    }
    const x = tensor(inputs.slice(t * batch * width, (t + 1) * batch * width), [batch, width]);
    const step = recurrent.step(state, x, { output: rows.length > 0 });
    state = step.state;
    if (rows.length > 0) scored.push(rows.length === batch ? (step.output as Tensor) : gather(step.output as Tensor, Int32Array.from(rows)));
  }
  const logits = scored.length === 1 ? (scored[0] as Tensor) : concat(scored, 0);
  const answers = Int32Array.from(targets);
  const loss = mul(crossEntropy(logits, answers, 'sum'), 1 / divideBy);
  const right = argmaxMatches(logits, answers);
  return { loss, ...tallyQuestions(sequences, (b, t) => right[(rowOf[b] as Map<number, number>).get(t) as number] === 1) };
}

/** Questions right and wrong, overall and per task, from whether story b's answer word at step t was right. */
function tallyQuestions(sequences: readonly BabiSequence[], right: (b: number, t: number) => boolean): Omit<BabiLoss, 'loss'> {
  let wrong = 0;
  let questions = 0;
  const perTask = new Map<number, [number, number]>();
  sequences.forEach((s, b) => {
    const tally = perTask.get(s.task) ?? [0, 0];
    for (const answerSteps of s.questions) {
      const ok = answerSteps.every((t) => right(b, t));
      questions++;
      tally[1]++;
      if (!ok) {
        wrong++;
        tally[0]++;
      }
    }
    perTask.set(s.task, tally);
  });
  return { wrong, questions, perTask };
}

/** What {@link babiGradients} and {@link babiScore} return: {@link BabiLoss} with the loss as a number. */
export interface BabiScore extends Omit<BabiLoss, 'loss'> {
  /** Cross-entropy summed over the answer words, divided by `divideBy`. */
  loss: number;
}

/**
 * The stories side by side, time-major, as the tape ({@link babiLoss}) and the `dncSequence` kernel read them: one-hot
 * words `[T, B, V]` (zero past a story's end), answer ids `[T, B]` (−1 elsewhere); every id checked.
 */
function encodeBabiBatch(model: DncModel, sequences: readonly BabiSequence[]): DncKernelBatch {
  const width = model.config.inputSize;
  const batch = sequences.length;
  if (batch === 0) throw new EngramError('babiLoss: no stories');
  if (model.config.outputSize !== width) throw new EngramError('babiLoss: the DNC must read and write one-hot words (input width = output width)');
  const steps = Math.max(...sequences.map((s) => s.inputs.length));
  const inputs = new Float32Array(steps * batch * width);
  const targets = new Float32Array(steps * batch).fill(-1);
  let asked = false;
  sequences.forEach((s, b) => {
    for (let t = 0; t < s.inputs.length; t++) {
      const word = s.inputs[t] as number;
      if (word <= 0 || word >= width) throw new EngramError(`babiLoss: word id ${word} is outside the model's ${width} inputs`);
      inputs[(t * batch + b) * width + word] = 1;
      const target = s.targets[t] as number;
      if (target >= 0) {
        if (target >= width) throw new EngramError(`babiLoss: answer id ${target} is outside the model's ${width} outputs`);
        targets[t * batch + b] = target;
        asked = true;
      }
    }
  });
  if (!asked) throw new EngramError('babiLoss: the stories ask no question');
  return { steps, batch, inputs, targets, mask: new Float32Array(steps * batch), loss: 'words' };
}

/**
 * A batch of stories' loss and gradients (left on the parameters, as `loss.backward()` leaves them): in one call of
 * the backend's whole-sequence kernel where the DNC qualifies (`dncKernelSequence`), else {@link babiLoss} on the
 * tape. The same numbers either way, up to rounding (tested).
 * @param model - the DNC (input and output widths = the vocabulary's size)
 * @param sequences - the stories
 * @param divideBy - what the summed cross-entropy is divided by (default the number of stories)
 */
export function babiGradients(model: DncModel, sequences: readonly BabiSequence[], divideBy = sequences.length): BabiScore {
  const data = encodeBabiBatch(model, sequences);
  const kernel = dncKernelSequence(model, data, divideBy);
  if (kernel === null) {
    const { loss, ...rest } = babiLoss(model, sequences, divideBy);
    const value = loss.item();
    if (Number.isFinite(value)) loss.backward();
    return { loss: value, ...rest };
  }
  if (Number.isFinite(kernel.loss))
    for (const p of parameterList(model.params)) {
      const grad = kernel.gradients.get(p);
      p.grad = grad === undefined ? null : tensor(grad, p.shape, { backend: p.backend, copy: false });
    }
  const verdicts = kernel.verdicts as Float32Array;
  return { loss: kernel.loss, ...tallyQuestions(sequences, (b, t) => verdicts[t * data.batch + b] === 1) };
}

/**
 * A batch of stories' loss and questions right, from the forward pass alone: the kernel where the DNC qualifies,
 * else {@link babiLoss} without a tape.
 * @param model - the DNC
 * @param sequences - the stories
 */
export function babiScore(model: DncModel, sequences: readonly BabiSequence[]): BabiScore {
  const data = encodeBabiBatch(model, sequences);
  const kernel = dncKernelSequence(model, data, sequences.length, false);
  if (kernel === null) {
    const { loss, ...rest } = noGrad(() => babiLoss(model, sequences));
    return { loss: loss.item(), ...rest };
  }
  const verdicts = kernel.verdicts as Float32Array;
  return { loss: kernel.loss, ...tallyQuestions(sequences, (b, t) => verdicts[t * data.batch + b] === 1) };
}

/** 1 where the row's arg max is its target. */
function argmaxMatches(logits: Tensor, targets: Int32Array): Uint8Array {
  const width = logits.shape[1] as number;
  const values = logits.dataSync();
  const out = new Uint8Array(targets.length);
  for (let r = 0; r < targets.length; r++) {
    let best = 0;
    for (let c = 1; c < width; c++) if ((values[r * width + c] as number) > (values[r * width + best] as number)) best = c;
    out[r] = best === targets[r] ? 1 : 0;
  }
  return out;
}
