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
