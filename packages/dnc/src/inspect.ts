import { type Tensor, noGrad, sigmoid, tensor } from '@engram/tensor';
import { headPart } from './memory-access.js';
import { type DncModel, type DncState, dncStep, initialDncState } from './model.js';

/** Everything the DNC did at one time step of one sequence. */
export interface DncStepInspection {
  /** x_t. */
  input: number[];
  /** σ(y_t): the output as probabilities. */
  output: number[];
  /** u_t over the N locations. */
  usage: number[];
  /** Per write head, the allocation weighting a_t. */
  allocations: number[][];
  /** Per write head, the write weighting w^w_t. */
  writeWeightings: number[][];
  /** Per write head, the allocation gate g^a_t (1 = write where memory is free, 0 = by content). */
  allocationGates: number[];
  /** Per write head, the write gate g^w_t. */
  writeGates: number[];
  /** Per read head, the read weighting w^r_t. */
  readWeightings: number[][];
  /** Per read head, the read mode π_t: backward per write head, forward per write head, then content. */
  readModes: number[][];
  /** Per read head, the free gate f_t. */
  freeGates: number[];
}

/** What {@link inspectDnc} returns. */
export interface DncInspection {
  /** One entry per time step. */
  steps: DncStepInspection[];
  /** Per write head, the link matrix L at the last step (N rows of N). */
  links: number[][][];
}

const rowOf = (t: Tensor): number[] => Array.from(t.dataSync());
const perHead = (t: Tensor, heads: number, width: number): number[][] => Array.from({ length: heads }, (_, h) => rowOf(headPart(t, h, width)));

/**
 * Runs one sequence through the DNC without a tape and returns, per step, the usage, each write head's
 * allocation and write weighting and gates, each read head's weighting, read mode and free gate, and
 * the link matrices at the last step — what the paper's Figure 1 and the demo's heatmaps show.
 * @param model - the DNC
 * @param inputs - one input row per step, each `inputSize` wide
 * @example
 * ```ts
 * const { model } = await loadDnc('runs/repeat-copy/model.safetensors');
 * const sequence = algorithmicTask('repeat-copy').sample(new Random(3), { maxLength: 5, maxRepeats: 2 });
 * const { steps, links } = inspectDnc(model, sequence.inputs);
 * console.log(steps[3]?.readModes[0]); // [backward, forward, content] of read head 0 at step 3
 * ```
 */
export function inspectDnc(model: DncModel, inputs: readonly ArrayLike<number>[]): DncInspection {
  const { readHeads, writeHeads } = model.config;
  return noGrad(() => {
    let state: DncState = initialDncState(model, 1);
    const steps: DncStepInspection[] = [];
    for (const row of inputs) {
      const step = dncStep(model, state, tensor(Array.from(row), [1, model.config.inputSize]));
      state = step.state;
      steps.push({
        input: Array.from(row),
        output: rowOf(sigmoid(step.output as Tensor)),
        usage: rowOf(state.usage),
        allocations: step.allocations.map(rowOf),
        writeWeightings: state.writeWeightings.map(rowOf),
        allocationGates: rowOf(step.interface.allocationGates),
        writeGates: rowOf(step.interface.writeGates),
        readWeightings: state.readWeightings.map(rowOf),
        readModes: perHead(step.interface.readModes, readHeads, 1 + 2 * writeHeads),
        freeGates: rowOf(step.interface.freeGates),
      });
    }
    const slots = model.config.memorySlots;
    const links = state.links.map((link) => {
      const data = link.dataSync();
      return Array.from({ length: slots }, (_, i) => Array.from(data.subarray(i * slots, (i + 1) * slots)));
    });
    return { steps, links };
  });
}
