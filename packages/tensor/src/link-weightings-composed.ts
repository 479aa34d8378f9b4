import { type Kernels, OUTPUT_LAYOUTS, layoutLength } from './backend.js';

/** The kernels the composed link weightings are written in. */
type LinkParts<S> = Pick<Kernels<S>, 'matmul' | 'slice' | 'concat' | 'add'>;

/**
 * {@link Kernels.linkWeightings} and its backward as batched products of a backend's own matmul: f = w Lᵀ and
 * b = w L (w `[batch, R, N]` as rows), backward dL = gfᵀ w + wᵀ gb and dw = gf L + gb Lᵀ. The gpu backend uses this;
 * the conformance suite checks it against the reference loops like any other kernel.
 * @param k - the backend's other kernels
 */
export function composeLinkWeightings<S>(k: LinkParts<S>): Pick<Kernels<S>, 'linkWeightings' | 'linkWeightingsBackward'> {
  const product = (a: S, b: S, batch: number, m: number, inner: number, n: number, transA: boolean, transB: boolean): S =>
    k.matmul(a, b, { batch, m, k: inner, n, transA, transB, batchedA: true, batchedB: true });
  const join = (parts: readonly S[], shapes: number[][], axis: number, outShape: number[]): S => k.concat(parts, shapes, axis, outShape);
  return {
    linkWeightings: (link, reads, batch, slots, heads) => {
      const forward = product(reads, link, batch, heads, slots, slots, false, true);
      const backward = product(reads, link, batch, heads, slots, slots, false, false);
      const part = [batch, heads, slots];
      return join([forward, backward], [part, part], 1, [batch, 2 * heads, slots]);
    },
    linkWeightingsBackward: (link, reads, grad, batch, slots, heads) => {
      const part = [batch, heads, slots];
      const gf = k.slice(grad, [batch, 2 * heads, slots], [0, 0, 0], part);
      const gb = k.slice(grad, [batch, 2 * heads, slots], [0, heads, 0], part);
      const cells = batch * slots * slots;
      const dLink = k.add(
        product(gf, reads, batch, slots, heads, slots, true, false),
        [cells],
        product(reads, gb, batch, slots, heads, slots, true, false),
        [cells],
        [cells],
      );
      const size = batch * heads * slots;
      const dReads = k.add(
        product(gf, link, batch, heads, slots, slots, false, false),
        [size],
        product(gb, link, batch, heads, slots, slots, false, true),
        [size],
        [size],
      );
      const length = layoutLength(OUTPUT_LAYOUTS.linkWeightingsBackward(batch, slots, heads));
      return join([dLink, dReads], [[cells], [size]], 0, [length]);
    },
  };
}
