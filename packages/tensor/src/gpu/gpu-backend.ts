/**
 * The gpu backend: the primitive kernels as gpu.js kernels, running on WebGL2 in browsers and on
 * headless-gl in Node. gpu.js is an optional peer dependency, imported only when
 * {@link createGpuBackend} is called; nothing here leaks gpu.js types.
 *
 * Data stays on the GPU between ops as textures; it is read back only when a tensor is read.
 */
import {
  type Backend,
  type BinaryKernel,
  type Kernels,
  type MatmulArgs,
  OUTPUT_LAYOUTS,
  type ReduceKernel,
  type UnaryKernel,
  layoutLength,
} from '../backend.js';
import { broadcastStrides } from '../cpu/reference-kernels.js';
import { composeLinkWeightings } from '../link-weightings-composed.js';
import { composeBagMemoryHops, composeMemoryHops } from '../memory-hops-composed.js';
import { createCpuBackend } from '../cpu/cpu-backend.js';
import { EngramError, formatShape } from '../errors.js';
import { type Shape, shapeSize, stridesOf } from '../shape.js';
import {
  MAX_RANK,
  binaryBroadcastSource,
  locationBackwardStateSource,
  locationGateGradSource,
  locationSharpeningGradSource,
  locationShiftGradSource,
  locationWeightingGradSource,
  locationAddressSource,
  lstmCellBackwardSource,
  lstmCellSource,
  memoryWriteBackwardSource,
  memoryWriteSource,
  rowCosineBackwardSource,
  rowCosineSource,
  binaryExpressions,
  binarySameShapeSource,
  concatPairSource,
  attentionReadBackwardSource,
  softmaxCrossEntropyBackwardSource,
  softmaxCrossEntropySource,
  attentionReadSource,
  cumulativeProductBackwardSource,
  temporalLinkBackwardSource,
  temporalLinkSource,
  cumulativeProductSource,
  embeddingBagBackwardSource,
  embeddingBagSource,
  gatherIndexSource,
  gatherRowsSource,
  matmulSource,
  padSource,
  reduceSource,
  scatterAddSource,
  softmaxSource,
  unaryExpressions,
  unarySource,
  uploadSource,
  whereSource,
} from './kernel-sources.js';

/** The minimal slice of gpu.js's API this backend uses (kept local so gpu.js types never leak). */
/** A gpu.js texture, as far as Engram uses it (gpu.js's own type stays private). */
export interface GpuTexture {
  /** Downloads the texture's values. */
  toArray(): Float32Array | number[];
  /** Frees the GPU memory. */
  delete(): void;
}
type KernelArgument = GpuTexture | Float32Array | number[] | number;
interface GpuKernel {
  (...args: KernelArgument[]): GpuTexture;
  setOutput(output: number[]): GpuKernel;
}
interface GpuInstance {
  mode: string;
  createKernel(source: string, settings: Record<string, unknown>): GpuKernel;
  destroy(): void;
}
interface GpuModule {
  GPU: new (settings: { mode?: string }) => GpuInstance;
}

/**
 * A tensor's data on the gpu backend: a texture (null for empty tensors), plus the array it was
 * read back into, cached so repeated reads do not download again.
 */
export interface GpuStorage {
  /** The data on the GPU (null for an empty tensor). */
  readonly texture: GpuTexture | null;
  /** Number of floats. */
  readonly size: number;
  /** The data read back (or uploaded), if any. */
  cached: Float32Array | null;
}

/** Options for {@link createGpuBackend}. */
export interface GpuBackendOptions {
  /** gpu.js mode; default `webgl2` in browsers and `headlessgl` in Node. */
  mode?: 'webgl2' | 'webgl' | 'headlessgl';
  /** Called with the reason when the GPU is unavailable (default: `console.warn`). */
  onFallback?: (reason: string) => void;
  /**
   * The gpu.js module, already imported (`await import('gpu.js')`). Bundlers (Vite, webpack) need
   * this: they cannot follow the by-name import used when it is absent. Its `GPU` class is used,
   * or the one on its `default` export (CommonJS interop).
   */
  module?: unknown;
}

/** What {@link createGpuBackend} returns: the backend in use, and why it is not the GPU if so. */
export interface GpuBackendResult {
  /** The gpu backend, or the cpu backend when no GPU context could be had. */
  backend: Backend;
  /** True when `backend` really runs on the GPU. */
  usingGpu: boolean;
  /** Why the cpu backend is used instead (absent when `usingGpu`). */
  fallbackReason?: string;
}

/** Loop bound gpu.js puts on loops with a non-constant bound (its default, 1000, would truncate). */
const LOOP_MAX_ITERATIONS = 1 << 20;

function padRank(values: readonly number[], fill: number): number[] {
  if (values.length > MAX_RANK) throw new EngramError(`gpu backend: tensors of rank ${values.length} exceed the supported rank ${MAX_RANK}`);
  return [...new Array<number>(MAX_RANK - values.length).fill(fill), ...values];
}

const isNode = (): boolean => typeof process !== 'undefined' && process.versions?.node !== undefined;

/** The flat output length of a multi-output kernel, from its layout. */
const floats = (
  kernel: Exclude<keyof typeof OUTPUT_LAYOUTS, 'memoryHops' | 'temporalLinkBackward' | 'bagMemoryHopsBackward' | 'linkWeightingsBackward'>,
  a: number,
  b: number,
  c: number,
): number => layoutLength(OUTPUT_LAYOUTS[kernel](a, b, c));

/** Builds the kernels over a live gpu.js instance. */
function gpuKernels(gpu: GpuInstance): { kernels: Kernels<GpuStorage>; fromArray: (data: Float32Array) => GpuStorage } {
  const compiled = new Map<string, GpuKernel>();
  const kernel = (source: string): GpuKernel => {
    let k = compiled.get(source);
    if (k === undefined) {
      k = gpu.createKernel(source, {
        dynamicOutput: true,
        dynamicArguments: true,
        pipeline: true,
        immutable: true,
        precision: 'single',
        tactic: 'precision',
        loopMaxIterations: LOOP_MAX_ITERATIONS,
        output: [1],
      });
      compiled.set(source, k);
    }
    return k;
  };
  // Textures are GPU memory: free them when their storage is garbage-collected.
  const registry = new FinalizationRegistry<GpuTexture>((texture) => texture.delete());
  const wrap = (texture: GpuTexture | null, size: number): GpuStorage => {
    const storage: GpuStorage = { texture, size, cached: null };
    if (texture !== null) registry.register(storage, texture);
    return storage;
  };
  const run = (source: string, size: number, ...args: KernelArgument[]): GpuStorage => {
    if (size === 0) return wrap(null, 0);
    return wrap(kernel(source).setOutput([size])(...args), size);
  };
  const tex = (s: GpuStorage): GpuTexture => {
    if (s.texture === null) throw new EngramError('gpu backend: an empty tensor cannot be an operand here');
    return s.texture;
  };

  const unary = (expression: string): UnaryKernel<GpuStorage> => {
    const source = unarySource(expression);
    return (x, size) => run(source, size, tex(x));
  };
  const binary = (expression: string): BinaryKernel<GpuStorage> => {
    const same = binarySameShapeSource(expression);
    const broadcast = binaryBroadcastSource(expression);
    return (a, aShape, b, bShape, outShape) => {
      const size = shapeSize(outShape);
      if (a.size === size && b.size === size) return run(same, size, tex(a), tex(b));
      return run(
        broadcast,
        size,
        tex(a),
        tex(b),
        padRank(outShape, 1),
        padRank(broadcastStrides(aShape, outShape), 0),
        padRank(broadcastStrides(bShape, outShape), 0),
      );
    };
  };
  const reduce = (kind: 'sum' | 'max'): ReduceKernel<GpuStorage> => {
    const source = reduceSource(kind);
    return (x, outer, n, inner) => run(source, outer * inner, tex(x), n, inner);
  };
  const indexMap = (x: GpuStorage, outShape: Shape, strides: readonly number[], base: number): GpuStorage =>
    run(gatherIndexSource, shapeSize(outShape), tex(x), padRank(outShape, 1), padRank(strides, 0), base);

  const own = {
    neg: unary(unaryExpressions.neg),
    exp: unary(unaryExpressions.exp),
    log: unary(unaryExpressions.log),
    sqrt: unary(unaryExpressions.sqrt),
    abs: unary(unaryExpressions.abs),
    sign: unary(unaryExpressions.sign),
    tanh: unary(unaryExpressions.tanh),
    sigmoid: unary(unaryExpressions.sigmoid),
    relu: unary(unaryExpressions.relu),
    step: unary(unaryExpressions.step),
    softplus: unary(unaryExpressions.softplus),
    softmax: (x: GpuStorage, rows: number, cols: number) => run(softmaxSource, rows * cols, tex(x), cols),
    temporalLink: (link: GpuStorage, precedence: GpuStorage, write: GpuStorage, batch: number, slots: number) =>
      run(temporalLinkSource, batch * slots * slots, tex(link), tex(precedence), tex(write), slots),
    temporalLinkBackward: (link: GpuStorage, precedence: GpuStorage, write: GpuStorage, grad: GpuStorage, batch: number, slots: number) =>
      run(temporalLinkBackwardSource, batch * slots * (slots + 2), tex(link), tex(precedence), tex(write), tex(grad), batch, slots),
    cumulativeProduct: (x: GpuStorage, rows: number, cols: number, exclusive: boolean) =>
      run(cumulativeProductSource, rows * cols, tex(x), cols, exclusive ? 1 : 0),
    cumulativeProductBackward: (x: GpuStorage, grad: GpuStorage, rows: number, cols: number, exclusive: boolean) =>
      run(cumulativeProductBackwardSource, rows * cols, tex(x), tex(grad), cols, exclusive ? 1 : 0),
    softmaxCrossEntropy: (x: GpuStorage, labels: Int32Array, rows: number, cols: number) =>
      rows === 0 ? run(uploadSource, 0, new Float32Array(0)) : run(softmaxCrossEntropySource, rows, tex(x), Array.from(labels), cols),
    softmaxCrossEntropyBackward: (x: GpuStorage, labels: Int32Array, grad: GpuStorage, rows: number, cols: number) =>
      rows === 0 ? run(uploadSource, 0, new Float32Array(0)) : run(softmaxCrossEntropyBackwardSource, rows * cols, tex(x), Array.from(labels), tex(grad), cols),
    add: binary(binaryExpressions.add),
    sub: binary(binaryExpressions.sub),
    mul: binary(binaryExpressions.mul),
    div: binary(binaryExpressions.div),
    pow: binary(binaryExpressions.pow),
    maximum: binary(binaryExpressions.maximum),
    minimum: binary(binaryExpressions.minimum),
    greater: binary(binaryExpressions.greater),
    equal: binary(binaryExpressions.equal),
    sum: reduce('sum'),
    max: reduce('max'),
    matmul: (a: GpuStorage, b: GpuStorage, args: MatmulArgs) => {
      const { batch, m, k, n, transA, transB, batchedA, batchedB } = args;
      const [sAi, sAk] = transA ? [1, m] : [k, 1];
      const [sBk, sBj] = transB ? [1, k] : [n, 1];
      const dims = [m, k, n, sAi, sAk, sBk, sBj, batchedA ? m * k : 0, batchedB ? k * n : 0];
      if (k === 0) return run(uploadSource, batch * m * n, new Float32Array(batch * m * n));
      return run(matmulSource, batch * m * n, tex(a), tex(b), dims);
    },
    permute: (x: GpuStorage, shape: Shape, perm: readonly number[]) => {
      const strides = stridesOf(shape);
      return indexMap(
        x,
        perm.map((p) => shape[p] as number),
        perm.map((p) => strides[p] as number),
        0,
      );
    },
    slice: (x: GpuStorage, shape: Shape, begin: readonly number[], outShape: Shape) => {
      const strides = stridesOf(shape);
      const base = begin.reduce((acc, b, i) => acc + b * (strides[i] as number), 0);
      return indexMap(x, outShape, strides, base);
    },
    pad: (x: GpuStorage, shape: Shape, begin: readonly number[], outShape: Shape) =>
      run(padSource, shapeSize(outShape), tex(x), padRank(outShape, 1), padRank(begin, 0), padRank(shape, 1), padRank(stridesOf(shape), 0)),
    broadcastTo: (x: GpuStorage, shape: Shape, outShape: Shape) => indexMap(x, outShape, broadcastStrides(shape, outShape), 0),
    concat: (xs: readonly GpuStorage[], shapes: readonly Shape[], axis: number, outShape: Shape) => {
      const outer = shapeSize(outShape.slice(0, axis));
      const inner = shapeSize(outShape.slice(axis + 1));
      let acc = xs[0] as GpuStorage;
      let width = ((shapes[0] as Shape)[axis] as number) * inner;
      for (let i = 1; i < xs.length; i++) {
        const next = xs[i] as GpuStorage;
        const nextWidth = ((shapes[i] as Shape)[axis] as number) * inner;
        if (nextWidth > 0) acc = width === 0 ? next : run(concatPairSource, outer * (width + nextWidth), tex(acc), tex(next), width, nextWidth);
        width += nextWidth;
      }
      return acc;
    },
    where: (cond: GpuStorage, a: GpuStorage, b: GpuStorage, size: number) => run(whereSource, size, tex(cond), tex(a), tex(b)),
    gather: (table: GpuStorage, _rows: number, cols: number, indices: Int32Array) =>
      run(gatherRowsSource, indices.length * cols, tex(table), Array.from(indices), cols),
    scatterAdd: (src: GpuStorage, indices: Int32Array, rows: number, cols: number) =>
      indices.length === 0
        ? run(uploadSource, rows * cols, new Float32Array(rows * cols))
        : run(scatterAddSource, rows * cols, tex(src), Array.from(indices), indices.length, cols),
    embeddingBag: (table: GpuStorage, indices: Int32Array, weights: GpuStorage, weightIndices: Int32Array, bags: number, words: number, width: number) =>
      words === 0 || bags === 0
        ? run(uploadSource, bags * width, new Float32Array(bags * width))
        : run(embeddingBagSource, bags * width, tex(table), Array.from(indices), tex(weights), Array.from(weightIndices), words, width),
    embeddingBagBackward: (
      grad: GpuStorage,
      indices: Int32Array,
      weights: GpuStorage,
      weightIndices: Int32Array,
      rows: number,
      bags: number,
      words: number,
      width: number,
    ) =>
      indices.length === 0
        ? run(uploadSource, rows * width, new Float32Array(rows * width))
        : run(embeddingBagBackwardSource, rows * width, tex(grad), Array.from(indices), tex(weights), Array.from(weightIndices), bags * words, words, width),
    attentionRead: (m: GpuStorage, c: GpuStorage, u: GpuStorage, mask: GpuStorage, batch: number, slots: number, width: number, normalize: boolean) =>
      run(attentionReadSource, floats('attentionRead', batch, slots, width), tex(m), tex(c), tex(u), tex(mask), batch, slots, width, normalize ? 1 : 0),
    attentionReadBackward: (
      m: GpuStorage,
      c: GpuStorage,
      u: GpuStorage,
      mask: GpuStorage,
      out: GpuStorage,
      grad: GpuStorage,
      batch: number,
      slots: number,
      width: number,
      normalize: boolean,
    ) =>
      run(
        attentionReadBackwardSource,
        floats('attentionReadBackward', batch, slots, width),
        tex(m),
        tex(c),
        tex(u),
        tex(mask),
        tex(out),
        tex(grad),
        batch,
        slots,
        width,
        normalize ? 1 : 0,
      ),
    lstmCell: (z: GpuStorage, c: GpuStorage, batch: number, hidden: number) => run(lstmCellSource, batch * 2 * hidden, tex(z), tex(c), hidden),
    lstmCellBackward: (z: GpuStorage, c: GpuStorage, out: GpuStorage, grad: GpuStorage, batch: number, hidden: number) =>
      run(lstmCellBackwardSource, batch * 5 * hidden, tex(z), tex(c), tex(out), tex(grad), hidden),
    memoryWrite: (memory: GpuStorage, w: GpuStorage, e: GpuStorage, a: GpuStorage, batch: number, rows: number, width: number) =>
      run(memoryWriteSource, batch * rows * width, tex(memory), tex(w), tex(e), tex(a), rows, width),
    memoryWriteBackward: (memory: GpuStorage, w: GpuStorage, e: GpuStorage, a: GpuStorage, grad: GpuStorage, batch: number, rows: number, width: number) =>
      run(memoryWriteBackwardSource, floats('memoryWriteBackward', batch, rows, width), tex(memory), tex(w), tex(e), tex(a), tex(grad), batch, rows, width),
    rowCosine: (memory: GpuStorage, key: GpuStorage, batch: number, rows: number, width: number, epsilon: number) =>
      run(rowCosineSource, batch * rows, tex(memory), tex(key), rows, width, epsilon),
    rowCosineBackward: (memory: GpuStorage, key: GpuStorage, grad: GpuStorage, batch: number, rows: number, width: number, epsilon: number) =>
      run(rowCosineBackwardSource, floats('rowCosineBackward', batch, rows, width), tex(memory), tex(key), tex(grad), batch, rows, width, epsilon),
    locationAddress: (
      wc: GpuStorage,
      wp: GpuStorage,
      g: GpuStorage,
      s: GpuStorage,
      gamma: GpuStorage,
      batch: number,
      slots: number,
      shifts: number,
      epsilon: number,
    ) => run(locationAddressSource, batch * slots, tex(wc), tex(wp), tex(g), tex(s), tex(gamma), slots, shifts, epsilon),
    locationAddressBackward: (
      wc: GpuStorage,
      wp: GpuStorage,
      g: GpuStorage,
      s: GpuStorage,
      gamma: GpuStorage,
      grad: GpuStorage,
      batch: number,
      slots: number,
      shifts: number,
      epsilon: number,
    ): GpuStorage => {
      // The per-slot terms of the backward, once per (row, slot); then one program per gradient, each
      // summing over the shifts only; then the five joined in the layout's order.
      const state = run(locationBackwardStateSource, 2 * batch * slots, tex(wc), tex(wp), tex(g), tex(s), tex(gamma), tex(grad), batch, slots, shifts, epsilon);
      const parts = [
        run(locationWeightingGradSource, batch * slots, tex(g), tex(s), tex(state), slots, shifts, 1),
        run(locationWeightingGradSource, batch * slots, tex(g), tex(s), tex(state), slots, shifts, 0),
        run(locationGateGradSource, batch, tex(wc), tex(wp), tex(s), tex(state), slots, shifts),
        run(locationShiftGradSource, batch * shifts, tex(wc), tex(wp), tex(g), tex(state), slots, shifts),
        run(locationSharpeningGradSource, batch, tex(state), batch, slots),
      ];
      const shapes = OUTPUT_LAYOUTS.locationAddressBackward(batch, slots, shifts).map((shape) => [shape.reduce((x, y) => x * y, 1)]);
      return kernels.concat(parts, shapes, 0, [floats('locationAddressBackward', batch, slots, shifts)]);
    },
  } satisfies Omit<
    Kernels<GpuStorage>,
    'memoryHops' | 'memoryHopsBackward' | 'bagMemoryHops' | 'bagMemoryHopsBackward' | 'linkWeightings' | 'linkWeightingsBackward'
  >;
  // Composed from this backend's own kernels: the hops over one memory (a loop of its attention, matmul and ReLU),
  // the link weightings (batched products), then the hops over bags of table rows (its embedding bags around the hops).
  const composed = { ...own, ...composeMemoryHops(own), ...composeLinkWeightings(own) };
  const kernels = { ...composed, ...composeBagMemoryHops(composed) } satisfies Kernels<GpuStorage>;

  const fromArray = (data: Float32Array): GpuStorage => {
    const storage = run(uploadSource, data.length, data);
    storage.cached = data;
    return storage;
  };
  return { kernels, fromArray };
}

/** The gpu.js module's `GPU` class, from the module itself or its CommonJS `default` export. */
function gpuModuleOf(imported: unknown): GpuModule {
  const candidates = [imported, (imported as { default?: unknown } | null)?.default];
  for (const candidate of candidates) if (typeof (candidate as Partial<GpuModule> | null)?.GPU === 'function') return candidate as GpuModule;
  throw new EngramError('the module given has no GPU class (expected the gpu.js module)');
}

/**
 * Creates the gpu backend. When gpu.js is not installed, or it cannot get a WebGL2 / headless-gl
 * context, this warns once (or calls `onFallback`) and returns the cpu backend instead, with
 * `usingGpu: false` and the reason, so callers can report the backend they actually use.
 * @param options - the gpu.js module or canvas to use, and what to do on a fallback
 * @example
 * ```ts
 * const { backend, usingGpu, fallbackReason } = await createGpuBackend();
 * if (usingGpu) setDefaultBackend(backend);
 * else console.log('staying on the CPU:', fallbackReason);
 * ```
 */
export async function createGpuBackend(options: GpuBackendOptions = {}): Promise<GpuBackendResult> {
  const fallback = (reason: string): GpuBackendResult => {
    const message = `@engram/tensor: GPU unavailable, using the cpu backend instead: ${reason}`;
    (options.onFallback ?? ((m: string) => console.warn(m)))(message);
    return { backend: createCpuBackend(), usingGpu: false, fallbackReason: reason };
  };
  let module: GpuModule;
  try {
    const name = 'gpu.js';
    module = gpuModuleOf(options.module ?? (await import(/* @vite-ignore */ name)));
  } catch (error) {
    return fallback(`the optional peer dependency gpu.js could not be loaded (${(error as Error).message}); install it with 'npm install gpu.js'`);
  }
  const mode = options.mode ?? (isNode() ? 'headlessgl' : 'webgl2');
  let gpu: GpuInstance;
  try {
    gpu = new module.GPU({ mode });
    if (gpu.mode !== mode) return fallback(`gpu.js chose mode '${gpu.mode}' instead of '${mode}'`);
    const probe = gpu.createKernel(uploadSource, { output: [2], precision: 'single' });
    const result = Array.from(probe(new Float32Array([1.5, -2])) as unknown as ArrayLike<number>);
    if (result[0] !== 1.5 || result[1] !== -2) return fallback(`a probe kernel returned ${JSON.stringify(result)}`);
  } catch (error) {
    const hint = mode === 'headlessgl' ? " (Node needs the native 'gl' package and a display: run under xvfb-run)" : '';
    return fallback(`gpu.js could not create a ${mode} context: ${(error as Error).message}${hint}`);
  }
  const { kernels, fromArray } = gpuKernels(gpu);
  const backend: Backend<GpuStorage> = {
    name: 'gpu',
    description: `gpu (gpu.js ${mode})`,
    kernels,
    fromArray,
    toArray: (storage, size) => {
      if (storage.size !== size) throw new EngramError(`gpu backend: storage holds ${storage.size} values, expected ${formatShape([size])}`);
      if (storage.cached === null) {
        storage.cached = storage.texture === null ? new Float32Array(0) : Float32Array.from(storage.texture.toArray());
      }
      return storage.cached;
    },
  };
  return { backend: backend as Backend, usingGpu: true };
}
