import { type Kernels, OUTPUT_LAYOUTS, layoutLength, layoutOffsets } from './backend.js';

/** The kernels the composed hops are written in. */
type HopParts<S> = Omit<Kernels<S>, 'memoryHops' | 'memoryHopsBackward' | 'bagMemoryHops' | 'bagMemoryHopsBackward'>;

/**
 * {@link Kernels.memoryHops} and its backward written in a backend's own kernels: per hop, its
 * attentionRead, a matmul, an add and a ReLU (and their adjoints backward). A backend without a
 * kernel of its own for the hops (the gpu backend) uses this; the conformance suite checks it like any
 * other kernel.
 * @param k - the backend's other kernels
 */
export function composeMemoryHops<S>(k: HopParts<S>): Pick<Kernels<S>, 'memoryHops' | 'memoryHopsBackward'> {
  const flat = (x: S, length: number, begin: number, size: number): S => k.slice(x, [length], [begin], [size]);
  const join = (parts: readonly S[], sizes: readonly number[]): S =>
    k.concat(
      parts,
      sizes.map((n) => [n]),
      0,
      [sizes.reduce((a, b) => a + b, 0)],
    );
  const add = (a: S, b: S, size: number): S => k.add(a, [size], b, [size], [size]);
  const product = (a: S, b: S, m: number, inner: number, n: number, transA: boolean, transB: boolean): S =>
    k.matmul(a, b, { batch: 1, m, k: inner, n, transA, transB, batchedA: false, batchedB: false });
  /** The columns [from, to) of x [rows, width]. */
  const columns = (x: S, rows: number, width: number, from: number, to: number): S => k.slice(x, [rows, width], [0, from], [rows, to - from]);

  return {
    memoryHops: (m, c, u, mask, hop, batch, slots, width, hops, linearUnits, normalize) => {
      const bd = batch * width;
      const us: S[] = [u];
      const ps: S[] = [];
      const os: S[] = [];
      const readLength = bd + batch * slots;
      for (let hopIndex = 0; hopIndex < hops; hopIndex++) {
        const uk = us[hopIndex] as S;
        const read = k.attentionRead(m, c, uk, mask, batch, slots, width, normalize);
        const o = flat(read, readLength, 0, bd);
        os.push(o);
        ps.push(flat(read, readLength, bd, batch * slots));
        const z = add(product(uk, hop, batch, width, width, false, false), o, bd);
        let next = z;
        if (linearUnits === 0) next = k.relu(z, bd);
        else if (linearUnits < width) {
          const rest = columns(z, batch, width, linearUnits, width);
          next = k.concat(
            [columns(z, batch, width, 0, linearUnits), k.relu(rest, batch * (width - linearUnits))],
            [
              [batch, linearUnits],
              [batch, width - linearUnits],
            ],
            1,
            [batch, width],
          );
        }
        us.push(next);
      }
      return join([...us, ...ps, ...os], [...us.map(() => bd), ...ps.map(() => batch * slots), ...os.map(() => bd)]);
    },

    memoryHopsBackward: (m, c, _u, mask, hop, out, grad, batch, slots, width, hops, linearUnits, normalize) => {
      const bd = batch * width;
      const cells = batch * slots * width;
      const length = layoutLength(OUTPUT_LAYOUTS.memoryHops(batch, slots, width, hops));
      const [uAt, pAt, oAt] = layoutOffsets(OUTPUT_LAYOUTS.memoryHops(batch, slots, width, hops)) as [number, number, number];
      const piece = (x: S, at: number, size: number): S => flat(x, length, at, size);
      let g = piece(grad, uAt + hops * bd, bd);
      let dm: S | null = null;
      let dc: S | null = null;
      let dH: S | null = null;
      for (let hopIndex = hops - 1; hopIndex >= 0; hopIndex--) {
        const uk = piece(out, uAt + hopIndex * bd, bd);
        const next = piece(out, uAt + (hopIndex + 1) * bd, bd);
        // dz = g ⊙ act′: 1 on the linear units, [u^{k+1} > 0] on the ReLU ones.
        let dz = g;
        if (linearUnits === 0) dz = k.mul(g, [bd], k.step(next, bd), [bd], [bd]);
        else if (linearUnits < width) {
          const rest = batch * (width - linearUnits);
          const restShape = [batch, width - linearUnits];
          dz = k.concat(
            [
              columns(g, batch, width, 0, linearUnits),
              k.mul(
                columns(g, batch, width, linearUnits, width),
                restShape,
                k.step(columns(next, batch, width, linearUnits, width), rest),
                restShape,
                restShape,
              ),
            ],
            [[batch, linearUnits], restShape],
            1,
            [batch, width],
          );
        }
        const dHk = product(uk, dz, width, batch, width, true, false);
        dH = dH === null ? dHk : add(dH, dHk, width * width);
        const forward = join([piece(out, oAt + hopIndex * bd, bd), piece(out, pAt + hopIndex * batch * slots, batch * slots)], [bd, batch * slots]);
        const readGrad = join(
          [add(dz, piece(grad, oAt + hopIndex * bd, bd), bd), piece(grad, pAt + hopIndex * batch * slots, batch * slots)],
          [bd, batch * slots],
        );
        const back = k.attentionReadBackward(m, c, uk, mask, forward, readGrad, batch, slots, width, normalize);
        const backLength = 2 * cells + bd;
        const dmk = flat(back, backLength, 0, cells);
        const dck = flat(back, backLength, cells, cells);
        dm = dm === null ? dmk : add(dm, dmk, cells);
        dc = dc === null ? dck : add(dc, dck, cells);
        g = add(add(piece(grad, uAt + hopIndex * bd, bd), product(dz, hop, batch, width, width, false, true), bd), flat(back, backLength, 2 * cells, bd), bd);
      }
      return join([dm as S, dc as S, g, dH as S], [cells, cells, bd, width * width]);
    },
  };
}

/** The kernels the composed bag hops are written in. */
type BagHopParts<S> = Omit<Kernels<S>, 'bagMemoryHops' | 'bagMemoryHopsBackward'>;

/**
 * {@link Kernels.bagMemoryHops} and its backward written in a backend's own kernels: the two memories
 * built whole with its embeddingBag, its memoryHops over them, and backward its memoryHopsBackward and
 * embeddingBagBackward once per table. The reference and gpu backends use this; the WebAssembly kernel
 * computes the same numbers one example at a time without the `[batch, slots, width]` arrays.
 * @param k - the backend's other kernels
 */
export function composeBagMemoryHops<S>(k: BagHopParts<S>): Pick<Kernels<S>, 'bagMemoryHops' | 'bagMemoryHopsBackward'> {
  const bag = (table: S, indices: Int32Array, weights: S, weightIndices: Int32Array, bags: number, words: number, width: number): S =>
    k.embeddingBag(table, indices, weights, weightIndices, bags, words, width);
  return {
    bagMemoryHops: (input, output, indices, weights, weightIndices, u, mask, hop, batch, slots, words, width, hops, linearUnits, normalize) => {
      const m = bag(input, indices, weights, weightIndices, batch * slots, words, width);
      const c = bag(output, indices, weights, weightIndices, batch * slots, words, width);
      return k.memoryHops(m, c, u, mask, hop, batch, slots, width, hops, linearUnits, normalize);
    },
    bagMemoryHopsBackward: (
      input,
      output,
      indices,
      weights,
      weightIndices,
      u,
      mask,
      hop,
      out,
      grad,
      rows,
      batch,
      slots,
      words,
      width,
      hops,
      linearUnits,
      normalize,
    ) => {
      const bags = batch * slots;
      const cells = bags * width;
      const m = bag(input, indices, weights, weightIndices, bags, words, width);
      const c = bag(output, indices, weights, weightIndices, bags, words, width);
      const back = k.memoryHopsBackward(m, c, u, mask, hop, out, grad, batch, slots, width, hops, linearUnits, normalize);
      const length = layoutLength(OUTPUT_LAYOUTS.memoryHopsBackward(batch, slots, width));
      const piece = (at: number, size: number): S => k.slice(back, [length], [at], [size]);
      const tableGrad = (at: number): S => k.embeddingBagBackward(piece(at, cells), indices, weights, weightIndices, rows, bags, words, width);
      const sizes = [rows * width, rows * width, batch * width, width * width];
      return k.concat(
        [tableGrad(0), tableGrad(cells), piece(2 * cells, batch * width), piece(2 * cells + batch * width, width * width)],
        sizes.map((n) => [n]),
        0,
        [sizes.reduce((a, b) => a + b, 0)],
      );
    },
  };
}
