import { describe, expect, it } from 'vitest';
import { cumulativeProduct, sum, mul, tensor } from './index.js';
import { gradientCheck } from './testing.js';

describe('cumulativeProduct', () => {
  it('exclusive and inclusive products along the last axis', () => {
    expect(Array.from(cumulativeProduct(tensor([2, 3, 4]), true).toArray())).toEqual([1, 2, 6]);
    expect(
      Array.from(
        cumulativeProduct(
          tensor([
            [2, 3, 4],
            [1, 0, 5],
          ]),
        ).toArray(),
      ),
    ).toEqual([2, 6, 24, 1, 0, 0]);
  });

  it('has the exact gradient where an element is 0 (no division)', () => {
    for (const exclusive of [true, false]) {
      const x = tensor([0.5, 0, 2, 3, 0, 0, 1.5, -1], [2, 4], { requiresGrad: true });
      const weights = tensor([
        [1, -2, 0.5, 3],
        [2, 1, -1, 0.25],
      ]);
      sum(mul(cumulativeProduct(x, exclusive), weights)).backward();
      const report = gradientCheck((a) => sum(mul(cumulativeProduct(a, exclusive), weights)), [x]);
      expect(report.maxError).toBeLessThan(1e-3);
      // d/dx_1 of the exclusive row 0: only the products after x_1 (0.5·2 at i = 3, weight 3; 0.5 at i = 2, weight 0.5).
      if (exclusive) expect((x.grad as ReturnType<typeof tensor>).toArray()[1]).toBeCloseTo(0.5 * 0.5 + 0.5 * 2 * 3, 5);
    }
  });
});
