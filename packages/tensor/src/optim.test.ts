import { describe, expect, it, vi } from 'vitest';
import {
  Adam,
  type Optimizer,
  type Tensor,
  RMSProp,
  Random,
  SGD,
  binaryCrossEntropyWithLogits,
  clipGradientsByNorm,
  clipGradientsByValue,
  createCpuBackend,
  glorotUniform,
  gradientNorm,
  normClipScale,
  randomNormal,
  matmul,
  orthogonal,
  optimizerStateFromTensors,
  optimizerStateTensors,
  stepDecay,
  tanh,
  tensor,
  transpose,
  zeros,
} from './index.js';

/** XOR with a 2-8-1 tanh network: a small seeded task every optimizer must learn. */
function trainXor(makeOptimizer: (params: ReturnType<typeof glorotUniform>[]) => Optimizer, steps: number): number {
  const rng = new Random(5);
  const w1 = glorotUniform([2, 8], rng);
  const b1 = zeros([8], { requiresGrad: true });
  const w2 = glorotUniform([8, 1], rng);
  const b2 = zeros([1], { requiresGrad: true });
  const x = tensor([
    [0, 0],
    [0, 1],
    [1, 0],
    [1, 1],
  ]);
  const y = tensor([[0], [1], [1], [0]]);
  const optimizer = makeOptimizer([w1, b1, w2, b2]);
  let loss = Number.POSITIVE_INFINITY;
  for (let i = 0; i < steps; i++) {
    optimizer.zeroGrad();
    const logits = matmul(tanh(matmul(x, w1).add(b1)), w2).add(b2);
    const l = binaryCrossEntropyWithLogits(logits, y);
    l.backward();
    optimizer.step();
    loss = l.item();
  }
  return loss;
}

describe('optimizers learn XOR', () => {
  it('SGD with momentum', () => expect(trainXor((p) => new SGD(p, 0.1, { momentum: 0.9 }), 400)).toBeLessThan(0.05));
  it('RMSProp (Graves, centered, momentum 0.9)', () => expect(trainXor((p) => new RMSProp(p, 0.01), 400)).toBeLessThan(0.05));
  it('Adam', () => expect(trainXor((p) => new Adam(p, 0.05), 400)).toBeLessThan(0.05));
});

describe('optimizer state', () => {
  it('round-trips so a resumed run continues exactly', () => {
    const run = (resumeAt: number | null): Float32Array => {
      const w = tensor([1, -2, 3], undefined, { requiresGrad: true });
      let opt = new Adam([w], 0.1);
      for (let i = 0; i < 6; i++) {
        if (i === resumeAt) {
          const saved = opt.state();
          const restored = new Adam([w], 0.1);
          restored.loadState(saved);
          opt = restored;
        }
        opt.zeroGrad();
        w.mul(w).sum().backward();
        opt.step();
      }
      return w.toArray();
    };
    expect(run(3)).toEqual(run(null));
  });

  it('rejects state of the wrong size', () => {
    const opt = new SGD([tensor([1, 2], undefined, { requiresGrad: true })], 0.1, { momentum: 0.9 }); // plain SGD keeps no slot to check
    expect(() => opt.loadState({ step: 0, slots: { velocity: [new Float32Array(3)] } })).toThrow(/3 values, expected 2/);
  });
});

describe('RMSProp matches Graves (2013) eq. 38–41 by hand', () => {
  it('one step', () => {
    const w = tensor([1], undefined, { requiresGrad: true });
    const opt = new RMSProp([w], 0.1, { decay: 0.95, momentum: 0.9, epsilon: 1e-4 });
    w.mul(3).sum().backward(); // g = 3
    opt.step();
    const n = 0.05 * 9;
    const g = 0.05 * 3;
    expect(w.item()).toBeCloseTo(1 - (0.1 * 3) / Math.sqrt(n - g * g + 1e-4), 5);
  });
});

describe('gradient clipping', () => {
  it('by value clamps each element', () => {
    const w = tensor([1, 1, 1], undefined, { requiresGrad: true });
    w.mul(tensor([20, -0.5, -30]))
      .sum()
      .backward();
    clipGradientsByValue([w], 10);
    expect(Array.from(w.grad?.toArray() ?? [])).toEqual([10, -0.5, -10]);
  });
  it('by global norm scales all gradients together and returns the norm', () => {
    const a = tensor([1], undefined, { requiresGrad: true });
    const b = tensor([1], undefined, { requiresGrad: true });
    a.mul(3).add(b.mul(4)).sum().backward();
    expect(clipGradientsByNorm([a, b], 1)).toBeCloseTo(5);
    expect(a.grad?.item()).toBeCloseTo(0.6);
    expect(b.grad?.item()).toBeCloseTo(0.8);
  });
});

describe('step with the clipping folded in', () => {
  const make = (rng: Random) => [randomNormal([7, 5], rng, 0, 1, { requiresGrad: true }), randomNormal([5], rng, 0, 1, { requiresGrad: true })];
  const withGradients = (params: Tensor[], seed: number) => {
    const rng = new Random(seed);
    for (const p of params) p.grad = randomNormal(p.shape, rng, 0, 30);
  };
  const optimizers: [string, (params: Tensor[]) => Optimizer][] = [
    ['SGD', (ps) => new SGD(ps, 0.1)],
    ['SGD with momentum', (ps) => new SGD(ps, 0.1, { momentum: 0.9 })],
    ['RMSProp', (ps) => new RMSProp(ps, 1e-3)],
    ['Adam', (ps) => new Adam(ps, 1e-2)],
  ];
  for (const [name, create] of optimizers) {
    it(`${name}: step({ gradientScale, clipValue }) gives bit for bit what clipping the gradients first gives`, () => {
      for (const [maxNorm, limit] of [
        [Number.POSITIVE_INFINITY, undefined],
        [5, undefined],
        [Number.POSITIVE_INFINITY, 10],
        [5, 0.3],
        [1e6, 0.3],
      ] as [number, number | undefined][]) {
        const [first, second] = [make(new Random(1)), make(new Random(1))] as [Tensor[], Tensor[]];
        const [a, b] = [create(first), create(second)];
        for (let step = 0; step < 3; step++) {
          withGradients(first, step);
          withGradients(second, step);
          const before = first.map((p) => p.grad?.toArray());
          const norm = gradientNorm(first);
          a.step({ gradientScale: normClipScale(norm, maxNorm), ...(limit === undefined ? {} : { clipValue: limit }) });
          expect(first.map((p) => p.grad?.toArray())).toEqual(before); // the gradients are left as they were
          expect(clipGradientsByNorm(second, maxNorm)).toBe(norm);
          if (limit !== undefined) clipGradientsByValue(second, limit);
          b.step();
        }
        for (const [i, p] of first.entries()) expect(Array.from(p.toArray())).toEqual(Array.from((second[i] as Tensor).toArray()));
      }
    });
  }
  it('the native updates (WebAssembly, four lanes: RMSProp, plain SGD) and gradient norm give the JavaScript loops’ numbers bit for bit', () => {
    const wasm = createCpuBackend();
    const plain = createCpuBackend({ simd: false });
    expect(wasm.optimizers, 'the WebAssembly backend updates natively').toBeDefined();
    expect(plain.optimizers).toBeUndefined();
    // Count the native calls: the comparison means nothing if the JavaScript loops ran on both sides.
    const calls = { rmsprop: 0, sgd: 0, sumOfSquares: 0 };
    const kernels = wasm.optimizers as NonNullable<typeof wasm.optimizers>;
    for (const key of Object.keys(calls) as (keyof typeof calls)[]) {
      const kernel = kernels[key] as (...args: unknown[]) => unknown;
      vi.spyOn(kernels, key).mockImplementation(((...args: unknown[]) => {
        calls[key]++;
        return kernel(...args);
      }) as never);
    }
    const optimizers: [string, (params: Tensor[]) => Optimizer][] = [
      ['RMSProp, centered', (params) => new RMSProp(params, 1e-3, { centered: true })],
      ['RMSProp', (params) => new RMSProp(params, 1e-3, { centered: false })],
      ['SGD', (params) => new SGD(params, 0.37)],
    ];
    for (const [name, create] of optimizers) {
      for (const [scale, limit] of [
        [1, undefined],
        [0.37, 10],
        [1, 0.05],
        // 0.1 is not a float32: the native loop clips against its rounding, the JavaScript one against 0.1 itself.
        [1, 0.1],
        [0.3, 0.1],
      ] as [number, number | undefined][]) {
        const make = (backend: typeof wasm) => {
          const rng = new Random(11);
          // 1,031 and 4 × 257 values: past the native threshold, with a tail that is not a multiple of four; 7 below it.
          return [randomNormal([1031], rng, 0, 1), randomNormal([7], rng, 0, 1), randomNormal([4, 257], rng, 0, 1)].map((p) =>
            tensor(p.toArray(), p.shape, { backend, requiresGrad: true }),
          );
        };
        const [native, loop] = [make(wasm), make(plain)] as [Tensor[], Tensor[]];
        const [a, b] = [create(native), create(loop)];
        for (let step = 0; step < 4; step++) {
          for (const [i, p] of native.entries()) {
            const g = randomNormal(p.shape, new Random(100 * step + i), 0, step === 3 ? 1e3 : 1).toArray();
            if (step === 2) g[5] = -0;
            if (step === 1) {
              // The float32s on either side of 0.1 and of −0.1, and 0.1's own rounding.
              const tenth = Math.fround(0.1);
              const [below, above] = [tenth - 2 ** -27, tenth + 2 ** -27].map(Math.fround) as [number, number];
              g.set([tenth, below, above, -tenth, -below, -above]);
            }
            if (step === 3) g[7] = Number.NaN;
            p.grad = tensor(g, p.shape, { backend: wasm });
            (loop[i] as Tensor).grad = tensor(g, p.shape, { backend: plain });
          }
          expect(gradientNorm(native), `${name}: gradient norm at step ${step}`).toBe(gradientNorm(loop));
          const options = { gradientScale: scale, ...(limit === undefined ? {} : { clipValue: limit }) };
          // A native update returns new values: the parameters' old data (which the matmul cache may hold) stays.
          const old = native.map((p) => p.dataSync());
          const copies = old.map((o) => o.slice());
          a.step(options);
          b.step(options);
          expect(old, `${name}: the old data unchanged`).toEqual(copies);
          for (const [i, p] of native.entries()) expect(p.dataSync() === old[i], `${name}: parameter ${i} has new data`).toBe(false);
        }
        for (const [i, p] of native.entries()) expect(p.toArray(), `${name}, scale ${scale}, clip ${limit}`).toEqual((loop[i] as Tensor).toArray());
        for (const [slot, arrays] of Object.entries(a.state().slots)) expect(arrays, `${name}: ${slot}`).toEqual(b.state().slots[slot]);
      }
    }
    // Per step: two parameters of the three past the threshold (3 optimizers × 5 settings × 4 steps).
    expect(calls).toEqual({ rmsprop: 2 * 2 * 5 * 4, sgd: 2 * 5 * 4, sumOfSquares: 2 * 3 * 5 * 4 });
  });
  it('RMSProp’s slots kept in WebAssembly memory between updates: states saved and loaded mid-run agree with the JavaScript loop', () => {
    const wasm = createCpuBackend();
    const plain = createCpuBackend({ simd: false });
    const make = (backend: typeof wasm) => {
      const rng = new Random(3);
      return [randomNormal([2051], rng, 0, 1), randomNormal([600], rng, 0, 1)].map((p) => tensor(p.toArray(), p.shape, { backend, requiresGrad: true }));
    };
    const [native, loop] = [make(wasm), make(plain)] as [Tensor[], Tensor[]];
    const [a, b] = [new RMSProp(native, 1e-3), new RMSProp(loop, 1e-3)];
    let step = 0;
    const stepBoth = () => {
      for (const [i, p] of native.entries()) {
        const g = randomNormal(p.shape, new Random(7 * step + i), 0, 1).toArray();
        p.grad = tensor(g, p.shape, { backend: wasm });
        (loop[i] as Tensor).grad = tensor(g, p.shape, { backend: plain });
      }
      a.step({ clipValue: 0.5 });
      b.step({ clipValue: 0.5 });
      step++;
    };
    const expectSame = (what: string) => {
      for (const [i, p] of native.entries()) expect(p.toArray(), `${what}: parameter ${i}`).toEqual((loop[i] as Tensor).toArray());
      expect(a.state(), what).toEqual(b.state());
    };
    stepBoth();
    stepBoth();
    // Loaded while the kept copies are newer than the arrays (no state() since the steps): the loaded values win.
    const halved = b.state();
    for (const arrays of Object.values(halved.slots)) for (const array of arrays) array.set(array.map((x) => x / 2));
    a.loadState(halved);
    b.loadState(halved);
    stepBoth();
    expectSame('after a loaded state');
    // A state read mid-run, then more steps from the kept copies.
    stepBoth();
    stepBoth();
    expectSame('after two more steps');
    // A new optimizer over the same parameters, from the saved state: it continues as the first would have.
    const [c, d] = [new RMSProp(native, 1e-3), new RMSProp(loop, 1e-3)];
    c.loadState(a.state());
    d.loadState(b.state());
    for (let k = 0; k < 2; k++) {
      for (const [i, p] of native.entries()) {
        const g = randomNormal(p.shape, new Random(1000 + k + i), 0, 1).toArray();
        p.grad = tensor(g, p.shape, { backend: wasm });
        (loop[i] as Tensor).grad = tensor(g, p.shape, { backend: plain });
      }
      c.step({ clipValue: 0.5 });
      d.step({ clipValue: 0.5 });
    }
    for (const [i, p] of native.entries()) expect(p.toArray(), `resumed: parameter ${i}`).toEqual((loop[i] as Tensor).toArray());
    expect(c.state()).toEqual(d.state());
  });
  it('normClipScale: maxNorm / norm above the limit, 1 otherwise (NaN included)', () => {
    expect(normClipScale(10, 5)).toBe(0.5);
    expect(normClipScale(4, 5)).toBe(1);
    expect(normClipScale(Number.NaN, 5)).toBe(1);
  });
  it('gradientNorm is the global L2 norm, NaN when a gradient holds one', () => {
    const [a, b] = [tensor([3], undefined, { requiresGrad: true }), tensor([4], undefined, { requiresGrad: true })];
    a.grad = tensor([3]);
    b.grad = tensor([4]);
    expect(gradientNorm([a, b])).toBe(5);
    b.grad = tensor([Number.NaN]);
    expect(gradientNorm([a, b])).toBeNaN();
  });
  it('rejects a negative or NaN scale and a clip value that is not positive', () => {
    const w = tensor([1], undefined, { requiresGrad: true });
    w.grad = tensor([1]);
    const sgd = new SGD([w], 0.1);
    for (const bad of [{ gradientScale: -1 }, { gradientScale: Number.NaN }, { clipValue: 0 }, { clipValue: Number.NaN }])
      expect(() => sgd.step(bad)).toThrow(/optimizer.step: gradientScale must be/);
  });
});

describe('schedules and initialisers', () => {
  it('step decay halves every 25 steps', () => {
    const lr = stepDecay(0.01, 0.5, 25);
    expect([lr(0), lr(24), lr(25), lr(60)]).toEqual([0.01, 0.01, 0.005, 0.0025]);
  });
  it('orthogonal matrices have orthonormal columns', () => {
    const q = orthogonal([6, 4], new Random(2));
    const gram = matmul(transpose(q), q).toArray();
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) expect(gram[i * 4 + j]).toBeCloseTo(i === j ? 1 : 0, 5);
  });
  it('glorot uniform stays within its limit and is seeded', () => {
    const a = glorotUniform([10, 30], new Random(1)).toArray();
    const limit = Math.sqrt(6 / 40);
    expect(a.every((v) => Math.abs(v) <= limit)).toBe(true);
    expect(glorotUniform([10, 30], new Random(1)).toArray()).toEqual(a);
  });
});

describe('parameter trees', () => {
  it('flattens by dotted path, ignores non-tensor leaves, and loads values back', async () => {
    const { flattenParameters, loadParameters, countParameters, parameterList } = await import('./index.js');
    const tree = { layers: [{ weight: zeros([2, 2]), bias: zeros([2]) }], hiddenSize: 2, head: { weight: zeros([2, 1]) } };
    expect(Object.keys(flattenParameters(tree))).toEqual(['layers.0.weight', 'layers.0.bias', 'head.weight']);
    expect(countParameters(tree)).toBe(8);
    expect(parameterList(tree)).toHaveLength(3);
    loadParameters(tree, {
      'layers.0.weight': tensor([
        [1, 2],
        [3, 4],
      ]),
      'layers.0.bias': tensor([5, 6]),
      'head.weight': tensor([[7], [8]]),
    });
    expect(Array.from(tree.layers[0]?.weight.toArray() ?? [])).toEqual([1, 2, 3, 4]);
    expect(() => loadParameters(tree, { 'layers.0.weight': tensor([1]) }, 'model.safetensors')).toThrow(
      /model\.safetensors: parameter 'layers\.0\.weight' has shape \[1\], the model expects \[2, 2\]/,
    );
    expect(() => loadParameters(tree, {}, 'ckpt')).toThrow(/ckpt: missing parameter 'layers\.0\.weight'/);
  });
});

describe('optimizer state from a file', () => {
  it('is complete or rejected: a missing slot of any parameter is named', () => {
    const params = [tensor([1, 2], undefined, { requiresGrad: true }), tensor([3], undefined, { requiresGrad: true })];
    const adam = new Adam(params, 0.1);
    const state = adam.state();
    const tensors = optimizerStateTensors(state);
    delete tensors['optimizer.m.0'];
    expect(() => new Adam(params, 0.1).loadState(optimizerStateFromTensors(tensors, state.step))).toThrow(/lacks slot 'm' of parameter 0/);
  });
});
