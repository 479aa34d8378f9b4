import { Adam, Random, type Tensor, binaryCrossEntropyWithLogits, concat, parameterList, randomNormal, randomUniform, tensor } from '@engram/tensor';
import { gradientCheck } from '@engram/tensor/testing';
import { describe, expect, it } from 'vitest';
import {
  CONTROLLER_KINDS,
  createController,
  createFeedForward,
  createGru,
  createLinear,
  createLstm,
  feedForwardStep,
  gruSequence,
  gruStep,
  initialGruState,
  initialLstmState,
  linear,
  lstmSequence,
  lstmStep,
} from './index.js';

/**
 * Trains a recurrent controller plus a linear read-out to output the first bit of a 7-step
 * sequence, and returns the accuracy on the last training batch.
 */
function recallAccuracy(seed: number, make: (rng: Random) => { params: unknown; run: (xs: Tensor[], batch: number) => Tensor[] }): number {
  const rng = new Random(seed);
  const model = make(rng);
  const head = createLinear(12, 1, rng);
  const optimizer = new Adam(parameterList({ model: model.params, head }), 0.02);
  const batch = 16;
  const steps = 7;
  let accuracy = 0;
  for (let iteration = 0; iteration < 250; iteration++) {
    const bits = Array.from({ length: batch * steps }, () => (rng.next() < 0.5 ? 1 : 0));
    const xs = Array.from({ length: steps }, (_, t) =>
      tensor(
        Array.from({ length: batch }, (_, b) => bits[b * steps + t] as number),
        [batch, 1],
      ),
    );
    const target = tensor(
      Array.from({ length: batch }, (_, b) => bits[b * steps] as number),
      [batch, 1],
    );
    optimizer.zeroGrad();
    const outputs = model.run(xs, batch);
    const logits = linear(head, outputs[steps - 1] as Tensor);
    binaryCrossEntropyWithLogits(logits, target).backward();
    optimizer.step();
    const predicted = logits.toArray();
    const wanted = target.toArray();
    accuracy = predicted.filter((p, i) => (p > 0 ? 1 : 0) === wanted[i]).length / batch;
  }
  return accuracy;
}

describe('LSTM', () => {
  it('starts with the forget-gate bias', () => {
    const lstm = createLstm(3, 4, new Random(1), { forgetBias: 1 });
    expect(Array.from(lstm.layers[0]?.bias.toArray() ?? [])).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('fused and composed steps agree over a sequence, two layers, batch 3', () => {
    const rng = new Random(2);
    const lstm = createLstm(5, 6, rng, { layers: 2 });
    const xs = Array.from({ length: 4 }, () => randomNormal([3, 5], rng));
    const fused = lstmSequence(lstm, initialLstmState(lstm, 3), xs);
    const composed = lstmSequence(lstm, initialLstmState(lstm, 3), xs, { fused: false });
    for (const [t, o] of fused.outputs.entries()) {
      const other = (composed.outputs[t] as Tensor).toArray();
      for (const [i, v] of o.toArray().entries()) expect(v).toBeCloseTo(other[i] as number, 5);
    }
  });

  it.each([true, false])('one step has finite-difference gradients (fused: %s)', (fused) => {
    const rng = new Random(3);
    const lstm = createLstm(3, 4, rng);
    const layer = lstm.layers[0] as { weight: Tensor; bias: Tensor };
    const inputs = [randomNormal([2, 3], rng), randomNormal([2, 4], rng), randomNormal([2, 4], rng), layer.weight, randomUniform([16], rng, -1, 1)];
    const report = gradientCheck((x, h, c, w, b) => {
      const params = { layers: [{ weight: w as Tensor, bias: b as Tensor }], hiddenSize: 4 };
      const step = lstmStep(params, { h: [h as Tensor], c: [c as Tensor] }, x as Tensor, { fused });
      return concat([step.output, step.state.c[0] as Tensor], 1);
    }, inputs);
    expect(report.maxError).toBeLessThan(2e-2);
  });

  it('learns to recall the first bit of a sequence after 6 distractors (seeded)', () => {
    expect(
      recallAccuracy(4, (rng) => {
        const lstm = createLstm(1, 12, rng);
        return { params: lstm.layers, run: (xs, batch) => lstmSequence(lstm, initialLstmState(lstm, batch), xs).outputs };
      }),
    ).toBe(1);
  });

  it('names a wrong input width', () => {
    const lstm = createLstm(3, 4, new Random(1));
    expect(() => lstmStep(lstm, initialLstmState(lstm, 2), tensor(new Float32Array(10), [2, 5]))).toThrow(/lstmStep: input x must be \[2, 3\].*\[2, 5\]/);
  });
});

describe('GRU', () => {
  it('one step has finite-difference gradients', () => {
    const rng = new Random(5);
    const gru = createGru(3, 4, rng);
    const layer = gru.layers[0] as (typeof gru.layers)[number];
    const report = gradientCheck(
      (x, h, wx, wh, bx, bh) =>
        gruStep(
          { layers: [{ inputWeight: wx as Tensor, hiddenWeight: wh as Tensor, inputBias: bx as Tensor, hiddenBias: bh as Tensor }], hiddenSize: 4 },
          { h: [h as Tensor] },
          x as Tensor,
        ).output,
      [
        randomNormal([2, 3], rng),
        randomNormal([2, 4], rng),
        layer.inputWeight,
        layer.hiddenWeight,
        randomUniform([12], rng, -1, 1),
        randomUniform([12], rng, -1, 1),
      ],
    );
    expect(report.maxError).toBeLessThan(2e-2);
  });

  it('learns to recall the first bit of a sequence after 6 distractors (seeded)', () => {
    expect(
      recallAccuracy(6, (rng) => {
        const gru = createGru(1, 12, rng);
        return { params: gru.layers, run: (xs, batch) => gruSequence(gru, initialGruState(gru, batch), xs).outputs };
      }),
    ).toBe(1);
  });

  it('names a wrong input width', () => {
    const gru = createGru(3, 4, new Random(1));
    expect(() => gruStep(gru, initialGruState(gru, 1), tensor([[1, 2]]))).toThrow(/gruStep: input x must be \[1, 3\]/);
  });
});

describe('feed-forward controller', () => {
  it('learns XOR (seeded) and has finite-difference gradients', () => {
    const rng = new Random(7);
    const mlp = createFeedForward([2, 8, 1], rng);
    const x = tensor([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]);
    const y = tensor([[0], [1], [1], [0]]);
    const optimizer = new Adam(parameterList(mlp), 0.05);
    for (let i = 0; i < 300; i++) {
      optimizer.zeroGrad();
      binaryCrossEntropyWithLogits(feedForwardStep(mlp, x, { activation: 'tanh' }).mul(6), y).backward();
      optimizer.step();
    }
    const out = feedForwardStep(mlp, x).toArray();
    expect(Array.from(out).map((v) => (v > 0 ? 1 : 0))).toEqual([0, 1, 1, 0]);
    const layer = mlp.layers[0] as { weight: Tensor; bias?: Tensor };
    expect(gradientCheck((w) => feedForwardStep({ layers: [{ weight: w as Tensor }] }, x), [layer.weight]).maxError).toBeLessThan(2e-2);
  });
});

describe('the Controller interface', () => {
  it('gives every kind one interface whose steps equal the kind’s own step function, with the same weight draws', () => {
    const x = randomNormal([3, 5], new Random(9));
    for (const kind of CONTROLLER_KINDS) {
      const controller = createController({ kind, hiddenSize: 4, layers: 2 }, 5, new Random(1));
      const expected = (() => {
        const rng = new Random(1);
        if (kind === 'lstm') {
          const p = createLstm(5, 4, rng, { layers: 2 });
          return lstmStep(p, initialLstmState(p, 3), x).output;
        }
        if (kind === 'gru') {
          const p = createGru(5, 4, rng, { layers: 2 });
          return gruStep(p, initialGruState(p, 3), x).output;
        }
        if (kind === 'feedforward') return feedForwardStep(createFeedForward([5, 4, 4], rng), x);
        return linear(createLinear(5, 4, rng), x);
      })();
      const first = controller.step(controller.initialState(3), x);
      expect(controller.kind).toBe(kind);
      expect(controller.outputSize).toBe(4);
      expect(first.output.toArray()).toEqual(expected.toArray());
      // State in, state out: a second step from the returned state runs.
      expect(controller.step(first.state, x).output.shape).toEqual([3, 4]);
      expect(parameterList(controller.parameters).length).toBeGreaterThan(0);
    }
    expect(() => createController({ kind: 'rnn' as never, hiddenSize: 4, layers: 1 }, 5, new Random(1))).toThrow(/unknown kind 'rnn'/);
  });
});
