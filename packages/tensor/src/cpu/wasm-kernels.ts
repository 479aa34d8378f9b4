import {
  type DncSequenceSizes,
  type Kernels,
  type MatmulArgs,
  type MemnetLmStepArrays,
  type MemnetLmStepResult,
  type MemnetLmStepSizes,
  type MemnetLmUpdate,
  type ModelKernels,
  type NtmSequenceSizes,
  OUTPUT_LAYOUTS,
  type SequenceKernelSizes,
  type OptimizerKernels,
  layoutLength,
} from '../backend.js';
import { SLAB_MAX_FLOATS, allocateFloats } from './allocate.js';
import { KERNELS_RELAXED_SIMD_WASM, KERNELS_SIMD_WASM } from './kernels-wasm.generated.js';

/**
 * Where the data lives: tensor data stays in JavaScript `Float32Array`s (every other kernel, the
 * optimizers and user code work on them without pointers or views invalidated by
 * `memory.grow`); the matmul kernel runs in WebAssembly linear memory.
 *
 * At the NTM's shapes, copying operands in costs more than the arithmetic (1×129·129×400: the
 * kernel needs ~4 µs, copying B in ~5 µs), and the same weight matrix is multiplied at every time
 * step, forward and backward. So large operands seen a second time are kept in an
 * {@link OPERAND_CACHE_BYTES} arena inside wasm memory, raw and packed, keyed by the array itself.
 * That is safe because storage arrays are immutable: kernels always return fresh arrays, and
 * parameter updates swap in a new array. When the arena fills, it is emptied at once.
 */
/**
 * The one table of the fused kernels that run in WebAssembly. Each row says how many of the kernel's
 * leading arguments are arrays (copied into wasm memory; Int32Array index arrays too), how many floats
 * it returns (from its scalar arguments), and, when it needs scratch memory, which export sizes it.
 * The wasm export of the same name takes the arrays' pointers, the output pointer, the scalars, then
 * the scratch pointer. The bindings, the types and the cpu backend's overrides are all made from this
 * table, so a kernel added here runs in WebAssembly everywhere, and one missing here cannot be claimed.
 */
export const WASM_KERNEL_TABLE = {
  memoryWrite: row<'memoryWrite'>()(4, (batch, rows, width) => batch * rows * width),
  memoryWriteBackward: row<'memoryWriteBackward'>()(5, (batch, rows, width) => layoutLength(OUTPUT_LAYOUTS.memoryWriteBackward(batch, rows, width))),
  rowCosine: row<'rowCosine'>()(2, (batch, rows) => batch * rows),
  rowCosineBackward: row<'rowCosineBackward'>()(3, (batch, rows, width) => layoutLength(OUTPUT_LAYOUTS.rowCosineBackward(batch, rows, width))),
  locationAddress: row<'locationAddress'>()(5, (batch, slots) => batch * slots, { export: 'locationTempBytes', arguments: [1] }),
  locationAddressBackward: row<'locationAddressBackward'>()(
    6,
    (batch, slots, shifts) => layoutLength(OUTPUT_LAYOUTS.locationAddressBackward(batch, slots, shifts)),
    { export: 'locationTempBytes', arguments: [1] },
  ),
  attentionRead: row<'attentionRead'>()(4, (batch, slots, width) => layoutLength(OUTPUT_LAYOUTS.attentionRead(batch, slots, width))),
  attentionReadBackward: row<'attentionReadBackward'>()(6, (batch, slots, width) => layoutLength(OUTPUT_LAYOUTS.attentionReadBackward(batch, slots, width)), {
    export: 'attentionTempBytes',
    arguments: [1],
  }),
  memoryHops: row<'memoryHops'>()(5, (batch, slots, width, hops) => layoutLength(OUTPUT_LAYOUTS.memoryHops(batch, slots, width, hops))),
  memoryHopsBackward: row<'memoryHopsBackward'>()(7, (batch, slots, width) => layoutLength(OUTPUT_LAYOUTS.memoryHopsBackward(batch, slots, width)), {
    export: 'memoryHopsTempBytes',
    arguments: [0, 1, 2, 3],
  }),
  bagMemoryHops: row<'bagMemoryHops'>()(8, (_rows, batch, slots, _words, width, hops) => layoutLength(OUTPUT_LAYOUTS.memoryHops(batch, slots, width, hops)), {
    export: 'bagMemoryHopsTempBytes',
    arguments: [2, 4, 5, 8],
  }),
  bagMemoryHopsBackward: row<'bagMemoryHopsBackward'>()(
    10,
    (rows, batch, _slots, _words, width, hops, _linearUnits, _normalize, adjacent) =>
      layoutLength(OUTPUT_LAYOUTS.bagMemoryHopsBackward(rows, batch, width, hops, adjacent)),
    { export: 'bagMemoryHopsBackwardTempBytes', arguments: [1, 2, 4, 5, 8] },
  ),
  cumulativeProduct: row<'cumulativeProduct'>()(1, (rows, cols) => rows * cols),
  cumulativeProductBackward: row<'cumulativeProductBackward'>()(2, (rows, cols) => rows * cols),
  temporalLink: row<'temporalLink'>()(3, (batch, slots) => batch * slots * slots),
  temporalLinkBackward: row<'temporalLinkBackward'>()(4, (batch, slots) => layoutLength(OUTPUT_LAYOUTS.temporalLinkBackward(batch, slots)), {
    export: 'temporalLinkTempBytes',
    arguments: [1],
  }),
  linkWeightings: row<'linkWeightings'>()(2, (batch, slots, heads) => batch * 2 * heads * slots),
  linkWeightingsBackward: row<'linkWeightingsBackward'>()(3, (batch, slots, heads) => layoutLength(OUTPUT_LAYOUTS.linkWeightingsBackward(batch, slots, heads))),
  embeddingBag: row<'embeddingBag'>()(4, (bags, _words, width) => bags * width),
  embeddingBagBackward: row<'embeddingBagBackward'>()(4, (rows, _bags, _words, width) => rows * width),
  softmaxCrossEntropy: row<'softmaxCrossEntropy'>()(2, (rows) => rows),
  softmaxCrossEntropyBackward: row<'softmaxCrossEntropyBackward'>()(3, (rows, cols) => rows * cols),
} satisfies { [K in WasmKernelName]: WasmKernelSpec };

/** The kernels the table runs in WebAssembly. */
export type WasmKernelName =
  | 'memoryWrite'
  | 'memoryWriteBackward'
  | 'rowCosine'
  | 'rowCosineBackward'
  | 'locationAddress'
  | 'locationAddressBackward'
  | 'attentionRead'
  | 'attentionReadBackward'
  | 'memoryHops'
  | 'memoryHopsBackward'
  | 'bagMemoryHops'
  | 'bagMemoryHopsBackward'
  | 'cumulativeProduct'
  | 'cumulativeProductBackward'
  | 'temporalLink'
  | 'temporalLinkBackward'
  | 'linkWeightings'
  | 'linkWeightingsBackward'
  | 'embeddingBag'
  | 'embeddingBagBackward'
  | 'softmaxCrossEntropy'
  | 'softmaxCrossEntropyBackward';

/** A tuple without its first N elements. */
type Drop<T extends readonly unknown[], N extends number, Dropped extends unknown[] = []> = Dropped['length'] extends N
  ? T
  : T extends readonly [unknown, ...infer Rest]
    ? Drop<Rest, N, [...Dropped, unknown]>
    : [];

/** The exports that size a kernel's scratch memory. */
type TempExport =
  | 'locationTempBytes'
  | 'attentionTempBytes'
  | 'memoryHopsTempBytes'
  | 'bagMemoryHopsTempBytes'
  | 'bagMemoryHopsBackwardTempBytes'
  | 'temporalLinkTempBytes';

/** One row of {@link WASM_KERNEL_TABLE}. */
interface WasmKernelSpec {
  /** How many leading arguments are arrays. */
  arrays: number;
  /** Output length in floats, from the kernel's scalar arguments. */
  output: (...scalars: never[]) => number;
  /** Scratch memory: the export that sizes it and which scalar arguments it takes. */
  temp?: { export: TempExport; arguments: readonly number[] };
}

/**
 * A table row for kernel K: `arrays` leading array arguments, and `output` typed by the rest of K's
 * signature in {@link Kernels} (so a wrong count or a misnamed scalar is a compile error).
 */
function row<K extends WasmKernelName>() {
  return <N extends number>(
    arrays: N,
    output: (...scalars: Drop<Parameters<Kernels<Float32Array>[K]>, N>) => number,
    temp?: WasmKernelSpec['temp'],
  ): WasmKernelSpec => ({ arrays, output: output as unknown as WasmKernelSpec['output'], ...(temp ? { temp } : {}) });
}

/** The module's exports: the table's kernels (pointers and scalars) and the matmul's own entry points. */
type KernelExports = { [K in WasmKernelName]: (...args: (number | boolean)[]) => void } & {
  memory: WebAssembly.Memory;
} & {
  [E in TempExport]: (...sizes: number[]) => number;
} & {
  pack(b: number, dst: number, k: number, n: number, sBk: number, sBj: number): void;
  multiplyPacked(a: number, packed: number, c: number, m: number, k: number, n: number, sAi: number, sAk: number): void;
  multiplyDirect(a: number, b: number, c: number, m: number, k: number, n: number, sAi: number, sAk: number, sBk: number): void;
  packBytes(k: number, n: number): number;
  multiplySmallBatched(
    a: number,
    b: number,
    c: number,
    batch: number,
    m: number,
    k: number,
    n: number,
    sAi: number,
    sAk: number,
    sBk: number,
    sBj: number,
    strideA: number,
    strideB: number,
  ): void;
  heapBase(): number;
  ntmSequence(...args: (number | boolean)[]): void;
  ntmSequenceTempBytes(...sizes: (number | boolean)[]): number;
  ntmParameterCount(...sizes: number[]): number;
  dncSequence(...args: (number | boolean)[]): void;
  dncSequenceTempBytes(...sizes: (number | boolean)[]): number;
  dncParameterCount(...sizes: number[]): number;
  rmspropUpdate(...args: (number | boolean)[]): void;
  sgdUpdate(value: number, grad: number, count: number, scale: number, limit: number, prepare: boolean, rate: number): void;
  sumOfSquares(values: number, count: number, sums: number): void;
  addInPlace(acc: number, x: number, count: number): void;
  softmaxCrossEntropyWithGradient(x: number, labels: number, loss: number, dx: number, rows: number, cols: number): void;
};

const WASM_PAGE_BYTES = 65536;
const ALIGNMENT = 16;
const FLOAT_BYTES = 4;
/** Capacity of the arena that keeps reused operands (weights) inside wasm memory. */
export const OPERAND_CACHE_BYTES = 32 * 1024 * 1024;
/**
 * Capacity of the region that keeps RMSProp's slots (n, ḡ, Δ) inside wasm memory between updates: 16 MiB holds
 * them for 1.4 M parameters; the parameters beyond it are updated with their slots copied in and out each time.
 */
export const RESIDENT_SLOTS_BYTES = 16 * 1024 * 1024;
/** Operands smaller than this are copied every time: the copy is cheaper than the bookkeeping. */
const CACHE_MIN_FLOATS = 4096;
/** Batched products with at most this many multiply-adds per entry run in one call, without packing. */
export const SMALL_BATCHED_MAX_MACS = 8192;
/** Products with fewer rows than this stream B directly instead of packing it. */
const DIRECT_MAX_ROWS = 4;

/** Which matmul kernel is in use. */
export type WasmMatmulFlavor = 'relaxed-simd' | 'simd';

/** The loaded WebAssembly kernels, over Float32Arrays (operands are copied in, results copied out). */
export interface WasmKernels {
  /** Which build runs. */
  readonly flavor: WasmMatmulFlavor;
  /** See {@link Kernels.matmul}. */
  matmul(a: Float32Array, b: Float32Array, args: MatmulArgs): Float32Array;
  /** Every kernel of {@link WASM_KERNEL_TABLE}, with the signature {@link Kernels} gives it. */
  readonly fused: Pick<Kernels<Float32Array>, WasmKernelName>;
  /** The whole-model kernels. */
  readonly models: ModelKernels;
  /** The optimizers' updates. */
  readonly optimizers: OptimizerKernels;
}

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const alignUp = (bytes: number): number => Math.ceil(bytes / ALIGNMENT) * ALIGNMENT;

/** A bump arena of cached operands, emptied as a whole when full. */
class OperandCache {
  private readonly entries = new WeakMap<Float32Array, Map<string, { pointer: number; generation: number }>>();
  private readonly seen = new WeakSet<Float32Array>();
  private generation = 0;
  private used = 0;

  constructor(
    private readonly base: number,
    private readonly capacity: number,
  ) {}

  /** Drops every cached form of `array` (its values were changed in place). */
  forget(array: Float32Array): void {
    this.entries.delete(array);
  }

  /** The cached pointer for (array, form), placing it with `write` on its second sighting. */
  lookup(array: Float32Array, form: string, bytes: number, write: (pointer: number) => void): number | null {
    if (array.length < CACHE_MIN_FLOATS || bytes > this.capacity / 4) return null;
    const forms = this.entries.get(array);
    const hit = forms?.get(form);
    if (hit !== undefined && hit.generation === this.generation) return hit.pointer;
    if (!this.seen.has(array)) {
      this.seen.add(array);
      return null;
    }
    if (this.used + bytes > this.capacity) {
      this.generation++;
      this.used = 0;
    }
    const pointer = this.base + this.used;
    this.used += alignUp(bytes);
    write(pointer);
    const map = forms ?? new Map();
    map.set(form, { pointer, generation: this.generation });
    this.entries.set(array, map);
    return pointer;
  }
}

/** One set of slot arrays kept in wasm memory: their pointers, and whether the JavaScript arrays are behind. */
interface ResidentBlock {
  readonly arrays: readonly Float32Array[];
  readonly pointers: readonly number[];
  /** The wasm copies were updated since the arrays were last written from them. */
  stale: boolean;
}

/**
 * A region of wasm memory where optimizer slots live between updates, keyed by the slot arrays themselves (each of
 * a set finds the set). Blocks are never moved or freed: when the region is full, further sets are not kept (their
 * updates copy them in and out). An optimizer dropped leaves its block unused, so a process that makes many large
 * optimizers ends up copying; training makes one.
 */
class ResidentSlots {
  private readonly blocks = new WeakMap<Float32Array, ResidentBlock>();
  private used = 0;

  constructor(
    private readonly base: number,
    private readonly capacity: number,
  ) {}

  /** The block holding exactly this set of arrays, if one does. */
  find(...arrays: Float32Array[]): ResidentBlock | undefined {
    const block = this.blocks.get(arrays[0] as Float32Array);
    return block !== undefined && arrays.every((a, i) => block.arrays[i] === a) ? block : undefined;
  }

  /** The block that holds `array`, if any. */
  of(array: Float32Array): ResidentBlock | undefined {
    return this.blocks.get(array);
  }

  /**
   * Places a new set (each array written with `write` at its pointer), or returns undefined when the region is full
   * or an array already belongs to another set.
   */
  place(a: Float32Array, b: Float32Array, c: Float32Array, write: (pointer: number, array: Float32Array) => void): ResidentBlock | undefined {
    const arrays = [a, b, c];
    const bytes = alignUp(a.length * FLOAT_BYTES);
    if (arrays.some((x) => x.length !== a.length || this.blocks.has(x)) || this.used + 3 * bytes > this.capacity) return undefined;
    const pointers = arrays.map((_, i) => this.base + this.used + i * bytes);
    this.used += 3 * bytes;
    const block: ResidentBlock = { arrays, pointers, stale: false };
    for (const [i, x] of arrays.entries()) {
      write(pointers[i] as number, x);
      this.blocks.set(x, block);
    }
    return block;
  }
}

/** The strides the products read op(A) `[m, k]` and op(B) `[k, n]` with from row-major A and B (transposed when asked). */
function productStrides(m: number, k: number, n: number, transA: boolean, transB: boolean): { sAi: number; sAk: number; sBk: number; sBj: number } {
  return { sAi: transA ? 1 : k, sAk: transA ? m : 1, sBk: transB ? 1 : n, sBj: transB ? k : 1 };
}

function instantiate(bytes: Uint8Array, flavor: WasmMatmulFlavor): WasmKernels {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), {
    env: {
      abort: () => {
        throw new Error('wasm matmul aborted');
      },
    },
  });
  const wasm = instance.exports as unknown as KernelExports;
  const cacheBase = alignUp(wasm.heapBase());
  const residentBase = cacheBase + OPERAND_CACHE_BYTES;
  const scratchBase = residentBase + RESIDENT_SLOTS_BYTES;
  const cache = new OperandCache(cacheBase, OPERAND_CACHE_BYTES);
  const resident = new ResidentSlots(residentBase, RESIDENT_SLOTS_BYTES);
  let heap = new Float32Array(wasm.memory.buffer);
  let heapInts = new Int32Array(wasm.memory.buffer);

  const ensureScratch = (bytes: number): void => {
    const missing = scratchBase + bytes - wasm.memory.buffer.byteLength;
    if (missing > 0) {
      wasm.memory.grow(Math.ceil(missing / WASM_PAGE_BYTES));
      heap = new Float32Array(wasm.memory.buffer);
      heapInts = new Int32Array(wasm.memory.buffer);
    }
  };

  /**
   * Copies `array` into wasm memory: into the cache arena when it is reused, else at `scratch`.
   * Index arrays (Int32Array) are always copied.
   */
  const placeRaw = (array: Float32Array | Int32Array, scratch: number): number => {
    if (array instanceof Int32Array) {
      heapInts.set(array, scratch / FLOAT_BYTES);
      return scratch;
    }
    const cached = cache.lookup(array, 'raw', array.length * FLOAT_BYTES, (p) => heap.set(array, p / FLOAT_BYTES));
    if (cached !== null) return cached;
    heap.set(array, scratch / FLOAT_BYTES);
    return scratch;
  };

  /**
   * Runs a kernel over `inputs` into a fresh output of `outputLength` floats: lays the inputs out
   * in scratch (or finds them cached), calls `kernel(pointers, outPointer)`, copies the output out.
   */
  const run = (
    inputs: readonly (Float32Array | Int32Array)[],
    outputLength: number,
    kernel: (pointers: number[], out: number, temp: number) => void,
    tempBytes = 0,
  ): Float32Array => {
    const sizes = inputs.map((x) => alignUp(x.length * FLOAT_BYTES));
    const outBytes = alignUp(outputLength * FLOAT_BYTES);
    ensureScratch(sizes.reduce((a, b) => a + b, 0) + outBytes + alignUp(tempBytes));
    let next = scratchBase;
    const pointers = inputs.map((x, i) => {
      const pointer = placeRaw(x, next);
      next += sizes[i] as number;
      return pointer;
    });
    kernel(pointers, next, next + outBytes);
    const result = heap.subarray(next / FLOAT_BYTES, next / FLOAT_BYTES + outputLength);
    if (outputLength > SLAB_MAX_FLOATS) return result.slice();
    const out = allocateFloats(outputLength);
    out.set(result);
    return out;
  };

  const fused = {} as Record<WasmKernelName, (...args: unknown[]) => Float32Array>;
  for (const name of Object.keys(WASM_KERNEL_TABLE) as WasmKernelName[]) {
    const spec = WASM_KERNEL_TABLE[name];
    const output = spec.output as unknown as (...scalars: unknown[]) => number;
    const kernel = wasm[name];
    fused[name] = (...args: unknown[]) => {
      const arrays = args.slice(0, spec.arrays) as (Float32Array | Int32Array)[];
      const scalars = args.slice(spec.arrays) as (number | boolean)[];
      const tempBytes = spec.temp ? wasm[spec.temp.export](...spec.temp.arguments.map((i) => scalars[i] as number)) : 0;
      return run(arrays, output(...scalars), (pointers, out, temp) => kernel(...pointers, out, ...scalars, ...(spec.temp ? [temp] : [])), tempBytes);
    };
  }

  /**
   * One call of a whole-sequence kernel: the parameter count checked, the scratch sized, the four arrays copied in and
   * `extra` floats of output after the gradients, the loss and the wrong count. `model` is the model's sizes as the
   * kernel's exports take them, `scalars` the call's arguments after those, `flags` its arguments after `gradients`.
   */
  const sequenceCall = (
    name: 'ntm' | 'dnc',
    arrays: [Float32Array, Float32Array, Float32Array, Float32Array],
    sizes: SequenceKernelSizes,
    model: number[],
    scalars: number[],
    flags: boolean[] = [],
    extra = 0,
  ): Float32Array => {
    const count = wasm[`${name}ParameterCount`](...model);
    if (arrays[0].length !== count) throw new Error(`${name}Sequence: expected ${count} parameters, got ${arrays[0].length}`);
    const gradients = sizes.gradients !== false;
    const tempBytes = wasm[`${name}SequenceTempBytes`](sizes.batch, sizes.steps, ...model, gradients);
    return run(
      arrays,
      count + 2 + extra,
      (pointers, out, temp) =>
        wasm[`${name}Sequence`](...pointers, out, sizes.batch, sizes.steps, ...model, ...scalars, sizes.lossScale, gradients, ...flags, temp),
      tempBytes,
    );
  };
  const ntmSizes = (z: NtmSequenceSizes): number[] => [z.inputSize, z.outputSize, z.hidden, z.layers, z.slots, z.width, z.readHeads, z.writeHeads, z.shifts];
  const dncSizes = (z: DncSequenceSizes): number[] => [z.inputSize, z.outputSize, z.hidden, z.layers, z.slots, z.width, z.readHeads];
  const models: ModelKernels = {
    ntmParameterCount: (sizes) => wasm.ntmParameterCount(...ntmSizes(sizes)),
    ntmSequence: (parameters, inputs, targets, mask, sizes) =>
      sequenceCall('ntm', [parameters, inputs, targets, mask], sizes, ntmSizes(sizes), [sizes.controllerClip]),
    dncParameterCount: (sizes) => wasm.dncParameterCount(...dncSizes(sizes)),
    memnetLmStep: (arrays, sizes, decide) => memnetLmStep(arrays, sizes, decide),
    memnetLmGradients: (arrays, sizes, gradients) => memnetLmGradients(arrays, sizes, gradients),
    dncSequence: (parameters, inputs, targets, mask, sizes) =>
      sequenceCall(
        'dnc',
        [parameters, inputs, targets, mask],
        sizes,
        dncSizes(sizes),
        [sizes.clip],
        [sizes.loss === 'words'],
        sizes.loss === 'words' ? sizes.steps * sizes.batch : 0,
      ),
  };

  /** Copies `array` into wasm memory at `pointer` (bytes). */
  const copyIn = (pointer: number, array: Float32Array): void => heap.set(array, pointer / FLOAT_BYTES);
  /** Copies as many floats as `array` holds from wasm memory at `pointer` (bytes) into it. */
  const copyOut = (pointer: number, array: Float32Array): void => array.set(heap.subarray(pointer / FLOAT_BYTES, pointer / FLOAT_BYTES + array.length));
  /** Writes a kept set's wasm copies back into its arrays (all but `skip`) where they are newer. */
  const bringUpToDate = (kept: ResidentBlock, skip: readonly Float32Array[] = []): void => {
    if (!kept.stale) return;
    for (const [i, a] of kept.arrays.entries()) if (!skip.includes(a)) copyOut(kept.pointers[i] as number, a);
    kept.stale = false;
  };

  const optimizers: OptimizerKernels = {
    rmsprop(value, grad, square, mean, delta, step) {
      const count = value.length;
      const bytes = alignUp(count * FLOAT_BYTES);
      ensureScratch(5 * bytes);
      // The slots stay in wasm memory from one update to the next (copied out only when read: readSlots); where the
      // region is full they are copied in and out as the value and gradient are.
      const kept = resident.find(square, mean, delta) ?? resident.place(square, mean, delta, copyIn);
      const [pv, pg] = [scratchBase, scratchBase + bytes];
      copyIn(pv, value);
      copyIn(pg, grad);
      const slots = [square, mean, delta];
      const slotPointers = kept
        ? kept.pointers
        : slots.map((a, i) => {
            const pointer = scratchBase + (2 + i) * bytes;
            copyIn(pointer, a);
            return pointer;
          });
      const [pn, pm, pd] = slotPointers as [number, number, number];
      wasm.rmspropUpdate(
        pv,
        pg,
        pn,
        pm,
        pd,
        count,
        step.scale,
        step.limit,
        step.prepare,
        step.decay,
        step.momentum,
        step.learningRate,
        step.centered,
        step.epsilon,
      );
      if (kept) kept.stale = true;
      else for (const [i, a] of slots.entries()) copyOut(slotPointers[i] as number, a);
      return heap.slice(pv / FLOAT_BYTES, pv / FLOAT_BYTES + count);
    },
    readSlots(arrays) {
      for (const array of arrays) {
        const kept = resident.of(array);
        if (kept) bringUpToDate(kept);
      }
    },
    writeSlots(arrays) {
      for (const array of arrays) {
        const kept = resident.of(array);
        if (kept === undefined) continue;
        // The set's other arrays may be behind: bring them up to date before the copies stop being the newer side.
        bringUpToDate(kept, arrays);
        copyIn(kept.pointers[kept.arrays.indexOf(array)] as number, array);
      }
    },
    sgd(value, grad, step, out) {
      const count = value.length;
      if (grad.length !== count || (out !== undefined && out.length !== count))
        throw new Error(`sgd: ${count} values, ${grad.length} gradients, ${out?.length} outputs`);
      const bytes = alignUp(count * FLOAT_BYTES);
      ensureScratch(2 * bytes);
      copyIn(scratchBase, value);
      copyIn(scratchBase + bytes, grad);
      wasm.sgdUpdate(scratchBase, scratchBase + bytes, count, step.scale, step.limit, step.prepare, step.learningRate);
      if (out === undefined) return heap.slice(scratchBase / FLOAT_BYTES, scratchBase / FLOAT_BYTES + count);
      copyOut(scratchBase, out);
      return out;
    },
    sumArrays(out, parts) {
      const count = out.length;
      if (parts.length === 0 || parts.some((part) => part !== null && part.length !== count) || parts.slice(1).includes(null))
        throw new Error(`sumArrays: expected arrays of ${count} values (only the first may be null)`);
      const bytes = alignUp(count * FLOAT_BYTES);
      ensureScratch(2 * bytes);
      const [first, ...rest] = parts;
      if (first === null || first === undefined) heap.fill(0, scratchBase / FLOAT_BYTES, scratchBase / FLOAT_BYTES + count);
      else copyIn(scratchBase, first);
      for (const part of rest) {
        copyIn(scratchBase + bytes, part as Float32Array);
        wasm.addInPlace(scratchBase, scratchBase + bytes, count);
      }
      copyOut(scratchBase, out);
    },
    sumOfSquares(values, sums) {
      // The four running sums (32 bytes) first, then the values.
      const count = values.length;
      ensureScratch(32 + count * FLOAT_BYTES);
      const wide = new Float64Array(wasm.memory.buffer, scratchBase, 4);
      wide.set(sums);
      copyIn(scratchBase + 32, values);
      wasm.sumOfSquares(scratchBase + 32, count, scratchBase);
      sums.set(wide);
    },
  };

  /**
   * The forward and backward passes of one MemN2N language-model batch in scratch ({@link ModelKernels.memnetLmStep}
   * and {@link ModelKernels.memnetLmGradients}): every array copied in once, then the kernels the composed step runs,
   * in its order and with its arguments (the products packed as `matmul` packs them), on pointers. Returns the summed
   * loss and, when it is finite, each weight with its pointer and its gradient's pointer in the parameter order
   * [A, C, W, H].
   */
  function memnetLmPasses(arrays: MemnetLmStepArrays, sizes: MemnetLmStepSizes): { nats: number; params: [Float32Array, number, number][]; sums: number } {
    const { rows, batch, slots, words, width, hops, linearUnits, vocabulary } = sizes;
    const { input, output, answer, hop } = arrays;
    const table = rows * width;
    const items = batch * slots * words;
    const expect = (name: string, array: { length: number }, length: number): void => {
      if (array.length !== length) throw new Error(`memnetLmStep: ${name} has ${array.length} values, expected ${length}`);
    };
    expect('input', input, table);
    expect('output', output, table);
    expect('answer', answer, width * vocabulary);
    expect('hop', hop, width * width);
    expect('indices', arrays.indices, items);
    expect('weightIndices', arrays.weightIndices, items);
    expect('query', arrays.query, batch * width);
    expect('mask', arrays.mask, batch * slots);
    expect('labels', arrays.labels, batch);
    if (arrays.weights.length % width !== 0) throw new Error(`memnetLmStep: weights has ${arrays.weights.length} values, not rows of ${width}`);
    const within = (name: string, values: Int32Array, limit: number): void => {
      for (const v of values) if (!(v >= 0 && v < limit)) throw new Error(`memnetLmStep: ${name} holds ${v}, outside [0, ${limit})`);
    };
    within('indices', arrays.indices, rows);
    within('weightIndices', arrays.weightIndices, arrays.weights.length / width);
    within('labels', arrays.labels, vocabulary);
    const forwardLength = layoutLength(OUTPUT_LAYOUTS.memoryHops(batch, slots, width, hops));
    const backwardLength = layoutLength(OUTPUT_LAYOUTS.bagMemoryHopsBackward(rows, batch, width, hops, false));
    const floats = (count: number): number => alignUp(count * FLOAT_BYTES);
    // Scratch: the inputs, the hops' output and the gradient of it, the logits and their gradient, one packing
    // buffer for the three products, dW, the hops' backward output, the two kernels' temps, the norm's four sums.
    const regions = {
      input: floats(table),
      output: floats(table),
      answer: floats(width * vocabulary),
      hop: floats(width * width),
      indices: floats(items),
      weights: floats(arrays.weights.length),
      weightIndices: floats(items),
      query: floats(batch * width),
      mask: floats(batch * slots),
      labels: floats(batch),
      forward: floats(forwardLength),
      forwardTemp: alignUp(wasm.bagMemoryHopsTempBytes(slots, width, hops, 0)),
      packed: alignUp(Math.max(wasm.packBytes(width, vocabulary), wasm.packBytes(vocabulary, width), wasm.packBytes(batch, vocabulary))),
      logits: floats(batch * vocabulary),
      rowLoss: floats(batch),
      logitGrad: floats(batch * vocabulary),
      forwardGrad: floats(forwardLength),
      backward: floats(backwardLength),
      backwardTemp: alignUp(wasm.bagMemoryHopsBackwardTempBytes(batch, slots, width, hops, 0)),
      answerGrad: floats(width * vocabulary),
      sums: 32,
    };
    ensureScratch(Object.values(regions).reduce((a, b) => a + b, 0));
    const at = {} as Record<keyof typeof regions, number>;
    let next = scratchBase;
    for (const [name, bytes] of Object.entries(regions)) {
      at[name as keyof typeof regions] = next;
      next += bytes;
    }
    copyIn(at.input, input);
    copyIn(at.output, output);
    copyIn(at.answer, answer);
    copyIn(at.hop, hop);
    heapInts.set(arrays.indices, at.indices / FLOAT_BYTES);
    copyIn(at.weights, arrays.weights);
    heapInts.set(arrays.weightIndices, at.weightIndices / FLOAT_BYTES);
    copyIn(at.query, arrays.query);
    copyIn(at.mask, arrays.mask);
    heapInts.set(arrays.labels, at.labels / FLOAT_BYTES);
    /** C = op(A)·op(B) on pointers, B packed into the step's packing buffer: what `matmul` does with the same operands. */
    const product = (a: number, b: number, c: number, m: number, k: number, n: number, transA: boolean, transB: boolean): void => {
      const { sAi, sAk, sBk, sBj } = productStrides(m, k, n, transA, transB);
      wasm.pack(b, at.packed, k, n, sBk, sBj);
      wasm.multiplyPacked(a, at.packed, c, m, k, n, sAi, sAk);
    };
    const bags = [at.input, at.output, at.indices, at.weights, at.weightIndices, at.query, at.mask, at.hop] as const;
    const scalars = [rows, batch, slots, words, width, hops, linearUnits, true, false] as const;
    // Forward: the hops, then â = u^{K+1} W (matmul(u, W)) and ℓ = Σ_r cross-entropy (sum, in float32, in row order).
    wasm.bagMemoryHops(...bags, at.forward, ...scalars, at.forwardTemp);
    const last = at.forward + hops * batch * width * FLOAT_BYTES;
    product(last, at.answer, at.logits, batch, width, vocabulary, false, false);
    // The loss and dâ = softmax − onehot (the backward of the sum: a gradient of 1 per row) in one pass.
    wasm.softmaxCrossEntropyWithGradient(at.logits, at.labels, at.rowLoss, at.logitGrad, batch, vocabulary);
    let nats = 0;
    for (let r = 0; r < batch; r++) nats = Math.fround(nats + (heap[at.rowLoss / FLOAT_BYTES + r] as number));
    if (!Number.isFinite(nats)) return { nats, params: [], sums: at.sums };
    // Backward: du^{K+1} = dâ Wᵀ into the hops' output gradient (zero elsewhere); dW = uᵀ dâ.
    heap.fill(0, at.forwardGrad / FLOAT_BYTES, at.forwardGrad / FLOAT_BYTES + forwardLength);
    product(at.logitGrad, at.answer, at.forwardGrad + hops * batch * width * FLOAT_BYTES, batch, vocabulary, width, false, true);
    wasm.bagMemoryHopsBackward(...bags, at.forward, at.forwardGrad, at.backward, ...scalars, at.backwardTemp);
    product(last, at.logitGrad, at.answerGrad, width, batch, vocabulary, true, false);
    // The weights and their gradients, in the model's parameter order [A, C, W, H].
    const params: [Float32Array, number, number][] = [
      [input, at.input, at.backward],
      [output, at.output, at.backward + table * FLOAT_BYTES],
      [answer, at.answer, at.answerGrad],
      [hop, at.hop, at.backward + (2 * table + batch * width) * FLOAT_BYTES],
    ];
    return { nats, params, sums: at.sums };
  }

  /** {@link ModelKernels.memnetLmStep}: the passes, the norm, then SGD in scratch and the new weights copied back (their cached copies dropped). */
  function memnetLmStep(
    arrays: MemnetLmStepArrays,
    sizes: MemnetLmStepSizes,
    decide: (nats: number, gradientNorm: number) => MemnetLmUpdate | null,
  ): MemnetLmStepResult {
    const { nats, params, sums: sumsAt } = memnetLmPasses(arrays, sizes);
    if (params.length === 0) return { nats, gradientNorm: Number.NaN, updated: false };
    const sums = new Float64Array(wasm.memory.buffer, sumsAt, 4);
    sums.fill(0);
    for (const [value, , grad] of params) wasm.sumOfSquares(grad, value.length, sumsAt);
    const gradientNorm = Math.sqrt((sums[0] as number) + (sums[1] as number) + (sums[2] as number) + (sums[3] as number));
    const update = decide(nats, gradientNorm);
    if (update === null) return { nats, gradientNorm, updated: false };
    for (const [value, pointer, grad] of params) {
      wasm.sgdUpdate(pointer, grad, value.length, update.scale, Number.POSITIVE_INFINITY, update.scale !== 1, update.learningRate);
      copyOut(pointer, value);
      cache.forget(value);
    }
    return { nats, gradientNorm, updated: true };
  }

  /** {@link ModelKernels.memnetLmGradients}: the passes, then the four gradients copied out. */
  function memnetLmGradients(arrays: MemnetLmStepArrays, sizes: MemnetLmStepSizes, gradients: readonly Float32Array[]): number {
    if (gradients.length !== 4) throw new Error(`memnetLmGradients: expected 4 gradient arrays (A, C, W, H), got ${gradients.length}`);
    const { nats, params } = memnetLmPasses(arrays, sizes);
    params.forEach(([value, , grad], i) => {
      const out = gradients[i] as Float32Array;
      if (out.length !== value.length) throw new Error(`memnetLmGradients: gradient ${i} has ${out.length} values, expected ${value.length}`);
      copyOut(grad, out);
    });
    return nats;
  }

  return {
    flavor,
    models,
    optimizers,
    fused: fused as unknown as Pick<Kernels<Float32Array>, WasmKernelName>,
    matmul(a, b, args) {
      const { batch, m, k, n, transA, transB, batchedA, batchedB } = args;
      if (m === 0 || n === 0 || k === 0) return allocateFloats(batch * m * n);
      const { sAi, sAk, sBk, sBj } = productStrides(m, k, n, transA, transB);
      if (batch > 1 && m * k * n <= SMALL_BATCHED_MAX_MACS) {
        const outLength = batch * m * n;
        return run([a, b], outLength, ([pa, pb], out) =>
          wasm.multiplySmallBatched(pa as number, pb as number, out, batch, m, k, n, sAi, sAk, sBk, sBj, batchedA ? m * k : 0, batchedB ? k * n : 0),
        );
      }
      const direct = m < DIRECT_MAX_ROWS && sBj === 1;
      const packBytes = alignUp(wasm.packBytes(k, n));
      // Scratch layout: [A][B raw][B packed][C]; cached operands live in the arena instead.
      const aBytes = alignUp(a.length * FLOAT_BYTES);
      const bBytes = alignUp(b.length * FLOAT_BYTES);
      const cBytes = alignUp(m * n * FLOAT_BYTES);
      ensureScratch(aBytes + bBytes + packBytes + cBytes);
      const aScratch = scratchBase;
      const bScratch = aScratch + aBytes;
      const packScratch = bScratch + bBytes;
      const cPointer = packScratch + packBytes;

      const aPointer = placeRaw(a, aScratch);
      let bRaw: number | null = null;
      const rawB = (): number => {
        bRaw ??= placeRaw(b, bScratch);
        return bRaw;
      };
      let packedShared: number | null = null;
      if (!direct && !batchedB) {
        const form = transB ? 'packed-transposed' : 'packed';
        packedShared = cache.lookup(b, form, packBytes, (p) => wasm.pack(rawB(), p, k, n, sBk, sBj));
        if (packedShared === null) {
          wasm.pack(rawB(), packScratch, k, n, sBk, sBj);
          packedShared = packScratch;
        }
      }
      // One large product: slice C straight out of wasm memory (no zero-filled array to copy into).
      const out = batch === 1 && m * n > SLAB_MAX_FLOATS ? null : allocateFloats(batch * m * n);
      for (let t = 0; t < batch; t++) {
        const offA = batchedA ? t * m * k * FLOAT_BYTES : 0;
        const offB = batchedB ? t * k * n * FLOAT_BYTES : 0;
        if (direct) {
          wasm.multiplyDirect(aPointer + offA, rawB() + offB, cPointer, m, k, n, sAi, sAk, sBk);
        } else {
          let packed = packedShared;
          if (packed === null) {
            wasm.pack(rawB() + offB, packScratch, k, n, sBk, sBj);
            packed = packScratch;
          }
          wasm.multiplyPacked(aPointer + offA, packed, cPointer, m, k, n, sAi, sAk);
        }
        const c = heap.subarray(cPointer / FLOAT_BYTES, cPointer / FLOAT_BYTES + m * n);
        if (out === null) return c.slice();
        out.set(c, t * m * n);
      }
      return out as Float32Array;
    },
  };
}

/**
 * Loads the fastest kernels this runtime validates: relaxed SIMD (fused multiply-add; browsers,
 * Node ≥ 22), then plain SIMD (Node 20). Returns null where WebAssembly SIMD is unavailable;
 * the cpu backend then uses the TypeScript reference loop.
 */
export function loadWasmKernels(): WasmKernels | null {
  if (typeof WebAssembly === 'undefined') return null;
  const candidates: [string, WasmMatmulFlavor][] = [
    [KERNELS_RELAXED_SIMD_WASM, 'relaxed-simd'],
    [KERNELS_SIMD_WASM, 'simd'],
  ];
  for (const [encoded, flavor] of candidates) {
    const bytes = decodeBase64(encoded);
    if (!WebAssembly.validate(bytes as BufferSource)) continue;
    try {
      return instantiate(bytes, flavor);
    } catch {
      // A browser's main thread may refuse to compile a module synchronously; use TypeScript there.
      return null;
    }
  }
  return null;
}
