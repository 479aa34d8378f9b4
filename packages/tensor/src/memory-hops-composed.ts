import { type Kernels, OUTPUT_LAYOUTS, layoutLength, layoutOffsets } from './backend.js';

/** The kernels the composed hops are written in. */
type HopParts<S> = Omit<
  Kernels<S>,
  'memoryHops' | 'memoryHopsBackward' | 'bagMemoryHops' | 'bagMemoryHopsBackward' | 'linkWeightings' | 'linkWeightingsBackward'
>;

/** The sizes and choices of one run of the hops. */
interface HopSizes {
  batch: number;
  slots: number;
  width: number;
  hops: number;
  linearUnits: number;
  normalize: boolean;
}

/**
 * The hops in a backend's kernels, with the memories of each hop given by `memory(k)` (the same pair at
 * every hop for layer-wise tying, their own pair for adjacent tying) and u^{k+1} = act(u^k H + o^k), or
 * act(u^k + o^k) without H. Backward returns each hop's dm and dc for the caller to sum.
 */
function composedHops<S>(k: HopParts<S>) {
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

  const forward = (memory: (hop: number) => readonly [S, S], u: S, mask: S, hop: S | null, z: HopSizes): S => {
    const { batch, slots, width, hops, linearUnits, normalize } = z;
    const bd = batch * width;
    const us: S[] = [u];
    const ps: S[] = [];
    const os: S[] = [];
    const readLength = bd + batch * slots;
    for (let hopIndex = 0; hopIndex < hops; hopIndex++) {
      const uk = us[hopIndex] as S;
      const [m, c] = memory(hopIndex);
      const read = k.attentionRead(m, c, uk, mask, batch, slots, width, normalize);
      const o = flat(read, readLength, 0, bd);
      os.push(o);
      ps.push(flat(read, readLength, bd, batch * slots));
      const z = add(hop === null ? uk : product(uk, hop, batch, width, width, false, false), o, bd);
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
  };

  const backward = (memory: (hop: number) => readonly [S, S], out: S, grad: S, mask: S, hop: S | null, z: HopSizes) => {
    const { batch, slots, width, hops, linearUnits, normalize } = z;
    const bd = batch * width;
    const cells = batch * slots * width;
    const length = layoutLength(OUTPUT_LAYOUTS.memoryHops(batch, slots, width, hops));
    const [uAt, pAt, oAt] = layoutOffsets(OUTPUT_LAYOUTS.memoryHops(batch, slots, width, hops)) as [number, number, number];
    const piece = (x: S, at: number, size: number): S => flat(x, length, at, size);
    let g = piece(grad, uAt + hops * bd, bd);
    const dm: S[] = [];
    const dc: S[] = [];
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
            k.mul(columns(g, batch, width, linearUnits, width), restShape, k.step(columns(next, batch, width, linearUnits, width), rest), restShape, restShape),
          ],
          [[batch, linearUnits], restShape],
          1,
          [batch, width],
        );
      }
      if (hop !== null) {
        const dHk = product(uk, dz, width, batch, width, true, false);
        dH = dH === null ? dHk : add(dH, dHk, width * width);
      }
      const forwardRead = join([piece(out, oAt + hopIndex * bd, bd), piece(out, pAt + hopIndex * batch * slots, batch * slots)], [bd, batch * slots]);
      const readGrad = join(
        [add(dz, piece(grad, oAt + hopIndex * bd, bd), bd), piece(grad, pAt + hopIndex * batch * slots, batch * slots)],
        [bd, batch * slots],
      );
      const [m, c] = memory(hopIndex);
      const back = k.attentionReadBackward(m, c, uk, mask, forwardRead, readGrad, batch, slots, width, normalize);
      const backLength = 2 * cells + bd;
      dm[hopIndex] = flat(back, backLength, 0, cells);
      dc[hopIndex] = flat(back, backLength, cells, cells);
      const through = hop === null ? dz : product(dz, hop, batch, width, width, false, true);
      g = add(add(piece(grad, uAt + hopIndex * bd, bd), through, bd), flat(back, backLength, 2 * cells, bd), bd);
    }
    return { dm, dc, du: g, dH };
  };

  return { forward, backward, add, join };
}

/**
 * {@link Kernels.memoryHops} and its backward written in a backend's own kernels: per hop, its
 * attentionRead, a matmul, an add and a ReLU (and their adjoints backward). A backend without a
 * kernel of its own for the hops (the gpu backend) uses this; the conformance suite checks it like any
 * other kernel.
 * @param k - the backend's other kernels
 */
export function composeMemoryHops<S>(k: HopParts<S>): Pick<Kernels<S>, 'memoryHops' | 'memoryHopsBackward'> {
  const hops = composedHops(k);
  return {
    memoryHops: (m, c, u, mask, hop, batch, slots, width, count, linearUnits, normalize) =>
      hops.forward(() => [m, c], u, mask, hop, { batch, slots, width, hops: count, linearUnits, normalize }),
    memoryHopsBackward: (m, c, _u, mask, hop, out, grad, batch, slots, width, count, linearUnits, normalize) => {
      const cells = batch * slots * width;
      const back = hops.backward(() => [m, c], out, grad, mask, hop, { batch, slots, width, hops: count, linearUnits, normalize });
      const sum = (parts: S[]): S => parts.reduce((a, b) => hops.add(a, b, cells));
      return hops.join([sum(back.dm), sum(back.dc), back.du, back.dH as S], [cells, cells, batch * width, width * width]);
    },
  };
}

/** The kernels the composed bag hops are written in. */
type BagHopParts<S> = Omit<Kernels<S>, 'bagMemoryHops' | 'bagMemoryHopsBackward'>;

/**
 * {@link Kernels.bagMemoryHops} and its backward written in a backend's own kernels: each memory
 * encoding built whole with its embeddingBag, the hops as {@link composeMemoryHops} runs them, and
 * backward each encoding's gradient (summed over its uses) through embeddingBagBackward. The reference
 * and gpu backends use this; the WebAssembly kernel computes the same one example at a time without
 * the `[batch, slots, width]` arrays.
 * @param k - the backend's other kernels
 */
export function composeBagMemoryHops<S>(k: BagHopParts<S>): Pick<Kernels<S>, 'bagMemoryHops' | 'bagMemoryHopsBackward'> {
  const hops = composedHops(k);
  /** Table t of the encodings: t = 0 the input table, t ≥ 1 block t − 1 of the output tables. */
  const table = (input: S, output: S, t: number, rows: number, outputTables: number, width: number): S =>
    t === 0 ? input : k.slice(output, [outputTables * rows, width], [(t - 1) * rows, 0], [rows, width]);
  const encodings = (
    input: S,
    output: S,
    indices: Int32Array,
    weights: S,
    weightIndices: Int32Array,
    rows: number,
    z: HopSizes,
    words: number,
    adjacent: boolean,
  ) => {
    const count = adjacent ? z.hops + 1 : 2;
    const bags = z.batch * z.slots;
    return Array.from({ length: count }, (_, t) =>
      k.embeddingBag(table(input, output, t, rows, count - 1, z.width), indices, weights, weightIndices, bags, words, z.width),
    );
  };
  /** Hop k reads encodings (k, k + 1) with adjacent tying, (0, 1) with layer-wise. */
  const pairOf = (encoded: S[], adjacent: boolean) => (hop: number) => [encoded[adjacent ? hop : 0] as S, encoded[adjacent ? hop + 1 : 1] as S] as const;

  return {
    bagMemoryHops: (
      input,
      output,
      indices,
      weights,
      weightIndices,
      u,
      mask,
      hop,
      rows,
      batch,
      slots,
      words,
      width,
      count,
      linearUnits,
      normalize,
      adjacent,
    ) => {
      const z = { batch, slots, width, hops: count, linearUnits, normalize };
      const encoded = encodings(input, output, indices, weights, weightIndices, rows, z, words, adjacent);
      // Layer-wise: the backend's own memoryHops over the two memories.
      if (!adjacent) return k.memoryHops(encoded[0] as S, encoded[1] as S, u, mask, hop, batch, slots, width, count, linearUnits, normalize);
      return hops.forward(pairOf(encoded, adjacent), u, mask, null, z);
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
      count,
      linearUnits,
      normalize,
      adjacent,
    ) => {
      const z = { batch, slots, width, hops: count, linearUnits, normalize };
      const encoded = encodings(input, output, indices, weights, weightIndices, rows, z, words, adjacent);
      const bags = batch * slots;
      const cells = bags * width;
      const tableGrad = (total: S): S => k.embeddingBagBackward(total, indices, weights, weightIndices, rows, bags, words, width);
      if (!adjacent) {
        // Layer-wise: the backend's own memoryHopsBackward, then each memory's gradient into its table.
        const back = k.memoryHopsBackward(encoded[0] as S, encoded[1] as S, u, mask, hop, out, grad, batch, slots, width, count, linearUnits, normalize);
        const length = 2 * cells + batch * width + width * width;
        const piece = (at: number, size: number): S => k.slice(back, [length], [at], [size]);
        return hops.join(
          [tableGrad(piece(0, cells)), tableGrad(piece(cells, cells)), piece(2 * cells, batch * width), piece(2 * cells + batch * width, width * width)],
          [rows * width, rows * width, batch * width, width * width],
        );
      }
      const back = hops.backward(pairOf(encoded, adjacent), out, grad, mask, null, z);
      // Each encoding's gradient: dm of the hops that read it as m, dc of those that read it as c.
      const gradients = encoded.map((_, t) => {
        const parts: S[] = [];
        for (let h = 0; h < count; h++) {
          if ((adjacent ? h : 0) === t) parts.push(back.dm[h] as S);
          if ((adjacent ? h + 1 : 1) === t) parts.push(back.dc[h] as S);
        }
        return tableGrad(parts.reduce((a, b) => hops.add(a, b, cells)));
      });
      // The layout: the input table's gradient, then the output tables', then du¹ (no dH without H).
      return hops.join([...gradients, back.du], [...gradients.map(() => rows * width), batch * width]);
    },
  };
}
