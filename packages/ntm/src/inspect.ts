import { type Tensor, noGrad, sigmoid, tensor } from '@engram/tensor';
import { type NtmModel, initialNtmState, ntmStep } from './model.js';

/** Everything the NTM did at one time step of one sequence. */
export interface StepInspection {
  /** x_t. */
  input: number[];
  /** σ(y_t): the output as probabilities. */
  output: number[];
  /** Per read head, w_t over the N memory rows. */
  readWeightings: number[][];
  /** Per write head, w_t over the N memory rows. */
  writeWeightings: number[][];
  /** Per write head, the erase vector e_t. */
  erase: number[][];
  /** Per write head, the add vector a_t. */
  add: number[][];
  /** Per read head, the read vector r_t. */
  readVectors: number[][];
  /** Per read head, the key strength β (how sharply it looked up by content). */
  keyStrength: number[];
  /** Per read head, the interpolation gate g (1 = content, 0 = previous location). */
  gate: number[];
  /** M_t after this step's write, N rows of M (only with `memory: true`). */
  memory?: number[][];
}

const rowOf = (t: Tensor): number[] => Array.from(t.dataSync());
const rowsOf = (data: Float32Array, rows: number, width: number): number[][] =>
  Array.from({ length: rows }, (_, i) => Array.from(data.subarray(i * width, (i + 1) * width)));

/**
 * Runs one sequence through the NTM without a tape and returns, per step, the input, the output,
 * every head's read and write weightings, erase and add vectors and read vectors, and (with
 * `memory: true`) the memory after the write — what the paper's Figure 6 shows.
 *
 * @param inputs one input row per step, each `inputSize` wide
 * @param model - the NTM
 * @param options - `memory`: also return the memory matrix after each step (large: N × M per step)
 * @example
 * ```ts
 * const { model } = await loadNtm('runs/copy/model.safetensors', new Random(0));
 * const sequence = copyTask.sample(new Random(3), { minLength: 10, maxLength: 10 });
 * const steps = inspectSequence(model, sequence.inputs);
 * console.log(steps[5]?.writeWeightings[0]); // the write head's weighting over the rows at step 5
 * ```
 */
export function inspectSequence(model: NtmModel, inputs: readonly ArrayLike<number>[], options: { memory?: boolean } = {}): StepInspection[] {
  return noGrad(() => {
    let state = initialNtmState(model, 1);
    const steps: StepInspection[] = [];
    for (const row of inputs) {
      const x = tensor(Array.from(row), [1, model.config.inputSize]);
      const step = ntmStep(model, state, x);
      state = step.state;
      const inspection: StepInspection = {
        input: Array.from(row),
        output: rowOf(sigmoid(step.output as Tensor)),
        readWeightings: state.readWeightings.map(rowOf),
        writeWeightings: state.writeWeightings.map(rowOf),
        erase: step.writeHeads.map((h) => rowOf(h.erase as Tensor)),
        add: step.writeHeads.map((h) => rowOf(h.add as Tensor)),
        readVectors: state.readVectors.map(rowOf),
        keyStrength: step.readHeads.map((h) => h.strength.item()),
        gate: step.readHeads.map((h) => h.gate.item()),
      };
      if (options.memory) inspection.memory = rowsOf(state.memory.dataSync(), model.config.memorySlots, model.config.memoryWidth);
      steps.push(inspection);
    }
    return steps;
  });
}

/** One wrong output bit: the time step and the bit's index. */
export interface WrongBit {
  /** Time step. */
  step: number;
  /** Bit within the output vector. */
  bit: number;
}

/**
 * The output bits of one sequence that differ from the target on scored steps, outputs thresholded at ½
 * (probabilities, as {@link inspectSequence} gives them) — the error measure of the NTM papers for one
 * sequence. `errorBits` is the same measure over a training batch's logits.
 * @param outputs - the model's outputs per step, as probabilities
 * @param targets - the target vectors per step
 * @param scored - the steps that count (the output phase)
 */
export function wrongBits(outputs: readonly ArrayLike<number>[], targets: readonly ArrayLike<number>[], scored: readonly number[]): WrongBit[] {
  const wrong: WrongBit[] = [];
  scored.forEach((flag, step) => {
    if (flag !== 1) return;
    const target = targets[step] ?? [];
    const output = outputs[step] ?? [];
    for (let bit = 0; bit < target.length; bit++) if (((output[bit] ?? 0) > 0.5 ? 1 : 0) !== target[bit]) wrong.push({ step, bit });
  });
  return wrong;
}
