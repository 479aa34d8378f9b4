import { describe, expect, it } from 'vitest';
import {
  EngramError,
  Random,
  type Tensor,
  add,
  glorotUniform,
  matmul,
  mul,
  noGrad,
  randomNormal,
  scalar,
  sum,
  tanh,
  tensor,
  topologicalOrder,
} from './index.js';

describe('autograd', () => {
  it('accumulates gradients of a reused tensor (micrograd check)', () => {
    const a = scalar(-4, { requiresGrad: true });
    const b = scalar(2, { requiresGrad: true });
    // c = a·b + b³ + a·a ; dc/da = b + 2a = -6 ; dc/db = a + 3b² = 8
    const c = add(add(mul(a, b), mul(mul(b, b), b)), mul(a, a));
    c.backward();
    expect(c.item()).toBeCloseTo(-8 + 8 + 16);
    expect(a.grad?.item()).toBeCloseTo(-6);
    expect(b.grad?.item()).toBeCloseTo(8);
  });

  it('adds up gradients across backward calls until they are cleared', () => {
    const x = tensor([1, 2, 3], undefined, { requiresGrad: true });
    sum(mul(x, x)).backward();
    sum(mul(x, x)).backward();
    expect(Array.from(x.grad?.toArray() ?? [])).toEqual([4, 8, 12]);
  });

  it('backpropagates through a 1,000-step unrolled recurrence without overflowing the stack', () => {
    const rng = new Random(3);
    const steps = 1000;
    const w = glorotUniform([4, 4], rng).mul(0.5).detach().trainable();
    const x0 = randomNormal([1, 4], rng);
    let h = x0;
    for (let t = 0; t < steps; t++) h = tanh(add(matmul(h, w), 0.1));
    const loss = sum(h);
    const started = performance.now();
    loss.backward();
    const elapsed = performance.now() - started;
    const grad = w.grad as Tensor;
    expect(grad.shape).toEqual([4, 4]);
    expect(grad.toArray().every(Number.isFinite)).toBe(true);
    // Check one entry against a central difference of the whole unrolled loss.
    const lossWith = (delta: number): number =>
      noGrad(() => {
        const data = w.toArray();
        data[5] = (data[5] as number) + delta;
        const wd = tensor(data, [4, 4]);
        let hd = x0;
        for (let t = 0; t < steps; t++) hd = tanh(add(matmul(hd, wd), 0.1));
        return sum(hd).item();
      });
    const numeric = (lossWith(1e-3) - lossWith(-1e-3)) / 2e-3;
    expect(grad.toArray()[5]).toBeCloseTo(numeric, 2);
    expect(elapsed).toBeLessThan(5000);
  });

  it('sorts a deep graph in linear time: visiting 100,000 nodes is cheap', () => {
    let h = scalar(1, { requiresGrad: true });
    for (let i = 0; i < 100_000; i++) h = add(h, 1);
    expect(topologicalOrder(h)).toHaveLength(100_001);
  });

  it('refuses a second backward through a freed graph, and allows it with retainGraph', () => {
    const x = scalar(3, { requiresGrad: true });
    const y = mul(x, x);
    y.backward();
    expect(() => y.backward()).toThrow(/already freed.*retainGraph/);
    const z = mul(x, x);
    z.backward(undefined, { retainGraph: true });
    z.backward();
    expect(x.grad?.item()).toBeCloseTo(6 + 12);
  });

  it('records nothing inside noGrad', () => {
    const x = scalar(2, { requiresGrad: true });
    const y = noGrad(() => mul(x, x));
    expect(y.requiresGrad).toBe(false);
    expect(y.node).toBeNull();
    expect(() => y.backward()).toThrow(EngramError);
  });

  it('stops gradients at detach', () => {
    const x = scalar(2, { requiresGrad: true });
    const y = add(mul(x, x).detach(), x);
    y.backward();
    expect(x.grad?.item()).toBe(1);
  });

  it('asks for a seed when the output is not a scalar', () => {
    const x = tensor([1, 2], undefined, { requiresGrad: true });
    expect(() => mul(x, 2).backward()).toThrow(/without a seed/);
    mul(x, 2).backward(tensor([1, 10]));
    expect(Array.from(x.grad?.toArray() ?? [])).toEqual([2, 20]);
  });
});

describe('fused LSTM cell', () => {
  it('equals the cell composed from primitives, value and gradient', async () => {
    const { lstmCell, split, sigmoid, concat, randomUniform } = await import('./index.js');
    const rng = new Random(12);
    const zData = randomUniform([3, 20], rng, -3, 3);
    const cData = randomUniform([3, 5], rng, -1, 1);
    const projection = randomUniform([3, 10], rng, -1, 1);
    const run = (fused: boolean) => {
      const z = zData.detach().trainable();
      const c = cData.detach().trainable();
      let out: Tensor;
      if (fused) out = lstmCell(z, c);
      else {
        const [i, f, g, o] = split(z, 4, 1) as [Tensor, Tensor, Tensor, Tensor];
        const cNext = add(mul(sigmoid(f), c), mul(sigmoid(i), tanh(g)));
        out = concat([mul(sigmoid(o), tanh(cNext)), cNext], 1);
      }
      sum(mul(out, projection)).backward();
      return [out.toArray(), z.grad?.toArray(), c.grad?.toArray()] as Float32Array[];
    };
    const fused = run(true);
    const composed = run(false);
    for (const [k, array] of fused.entries()) {
      for (const [i, v] of array.entries()) expect(v).toBeCloseTo((composed[k] as Float32Array)[i] as number, 5);
    }
  });
});

describe('in-place gradient accumulation', () => {
  it('never leaks into a gradient shared with another input', () => {
    // y = a + b shares one gradient tensor between a and b; a then gets two more contributions.
    const a = tensor([1, 2], undefined, { requiresGrad: true });
    const b = tensor([3, 4], undefined, { requiresGrad: true });
    const s = add(a, b);
    const loss = sum(add(add(mul(s, 2), mul(a, 3)), mul(a, 5)));
    loss.backward();
    expect(Array.from(a.grad?.toArray() ?? [])).toEqual([10, 10]);
    expect(Array.from(b.grad?.toArray() ?? [])).toEqual([2, 2]);
  });
});

describe('deferred weight gradients', () => {
  it('sum a weight used at many steps with one matmul, equal to the step-by-step sum', () => {
    const rng = new Random(31);
    const xs = Array.from({ length: 5 }, () => randomNormal([2, 4], rng));
    const w0 = randomNormal([4, 3], rng);
    const gradOf = (viaNode: boolean): Float32Array => {
      const w = w0.detach().trainable();
      // Through a computed tensor the eager rule runs; on the leaf itself the deferred one does.
      const used = viaNode ? mul(w, 1) : w;
      let loss = scalar(0);
      for (const x of xs) loss = add(loss, sum(tanh(matmul(x, used))));
      loss = add(loss, sum(mul(w, w)));
      loss.backward();
      return (w.grad as Tensor).toArray();
    };
    const deferred = gradOf(false);
    const eager = gradOf(true);
    for (const [i, v] of deferred.entries()) expect(v).toBeCloseTo(eager[i] as number, 5);
  });
});
