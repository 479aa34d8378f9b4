/**
 * @engram/tensor: float32 tensors with reverse-mode autodiff, optimizers and safetensors I/O.
 *
 * ```ts
 * import { Random, glorotUniform, tensor, Adam } from '@engram/tensor';
 * const rng = new Random(1);
 * const w = glorotUniform([2, 1], rng);
 * const loss = tensor([[1, 2]]).matmul(w).sub(3).pow(2).mean();
 * loss.backward();
 * new Adam([w]).step();
 * ```
 *
 * @packageDocumentation
 */
export { type BackwardOptions, DeferredProduct, type GradNode, isGradEnabled, noGrad, topologicalOrder } from './autograd.js';
export {
  type Backend,
  type BinaryKernel,
  type FusedKernelName,
  type FusedKernels,
  type KernelName,
  type Kernels,
  type MatmulArgs,
  type DncSequenceSizes,
  type MemnetLmStepArrays,
  type MemnetLmStepResult,
  type MemnetLmStepSizes,
  type MemnetLmUpdate,
  type ModelKernels,
  type OptimizerKernels,
  type RmsPropStep,
  type SgdStep,
  type NtmSequenceSizes,
  type SequenceKernelSizes,
  OUTPUT_LAYOUTS,
  type OutputLayout,
  type PrimitiveKernelName,
  type PrimitiveKernels,
  type ReduceKernel,
  type UnaryKernel,
  layoutLength,
  layoutOffsets,
} from './backend.js';
export { type CpuBackendOptions, WASM_MATMUL_MIN_MACS, createCpuBackend } from './cpu/cpu-backend.js';
export { referenceKernels } from './cpu/reference-kernels.js';
export { type CreateOptions, arange, eye, fill, ones, randomNormal, randomUniform, scalar, tensor, zeros } from './create.js';
export { getDefaultBackend, setDefaultBackend } from './default-backend.js';
export { EngramError, NonFiniteError, ShapeError, formatShape } from './errors.js';
export { encodeFloat16, float32ToHalf, halfToFloat32 } from './half.js';
export { glorotUniform, orthogonal } from './init.js';
export {
  COSINE_EPSILON,
  type Reduction,
  binaryCrossEntropyWithLogits,
  circularConvolution,
  clamp,
  cosineSimilarity,
  crossEntropy,
  expandDims,
  logSoftmax,
  masked,
  matmul,
  max,
  mean,
  min,
  outer,
  roll,
  softmax,
  softplus,
  split,
  squeeze,
  stack,
  stopGradient,
  sum,
  sumToShape,
  transpose,
} from './ops.js';
export {
  Adam,
  type AdamOptions,
  OPTIMIZER_EPSILON,
  OPTIMIZER_TENSOR_PREFIX,
  Optimizer,
  type OptimizerState,
  RMSProp,
  type RmsPropOptions,
  SGD,
  type SgdOptions,
  type StepOptions,
  clipGradientsByNorm,
  clipGradientsByValue,
  gradientNorm,
  normClipScale,
  optimizerStateFromTensors,
  optimizerStateTensors,
  plainSgd,
  stepDecay,
} from './optim.js';
export type { BinaryOp, BoxParams, ConcatParams, GatherParams, GradContext, GradientRule, MatmulParams } from './primitives.js';
export {
  type PermuteParams,
  type ReduceParams,
  type PrimitiveOp,
  type UnaryOp,
  abs,
  add,
  broadcastTo,
  concat,
  div,
  equal,
  exp,
  full,
  gather,
  gradients,
  greater,
  greaterEqual,
  log,
  matmulRaw,
  maximum,
  minimum,
  mul,
  neg,
  pad,
  permute,
  pow,
  reduce,
  relu,
  reshape,
  scatterAdd,
  sigmoid,
  sign,
  slice,
  softmaxLast,
  splitFlat,
  sqrt,
  step,
  sub,
  tanh,
  where,
} from './primitives.js';
export {
  type AttentionParams,
  attentionRead,
  bagMemoryHops,
  attentionReadBackward,
  type CosineParams,
  type CrossEntropyParams,
  cumulativeProduct,
  cumulativeProductBackward,
  type CumulativeProductParams,
  embeddingBag,
  embeddingBagBackward,
  type EmbeddingBagParams,
  locationAddress,
  locationAddressBackward,
  type LocationParams,
  linkWeightings,
  lstmCell,
  lstmCellBackward,
  memoryHops,
  memoryHopsBackward,
  type MemoryBags,
  type MemoryHopsParams,
  memoryWrite,
  memoryWriteBackward,
  rowCosine,
  rowCosineBackward,
  softmaxCrossEntropy,
  softmaxCrossEntropyBackward,
  temporalLink,
  temporalLinkBackward,
} from './fused.js';
export { Random } from './random.js';
export {
  ATOMIC_TEMPORARY_SUFFIX,
  type LoadSafetensorsOptions,
  MAX_HEADER_BYTES,
  MAX_FILE_BYTES,
  SafetensorsError,
  type SafetensorsContents,
  type SaveSafetensorsOptions,
  loadSafetensors,
  loadSafetensorsFile,
  readBinaryFile,
  saveSafetensors,
  saveSafetensorsFile,
  writeFileAtomic,
} from './safetensors.js';
export { type Shape, broadcastShapes, shapeSize } from './shape.js';
export { type NestedArray, Tensor } from './tensor.js';
export {
  type CheckpointContents,
  PARAMETERS_PREFIX,
  type SavedOptimizer,
  checkCount,
  checkRngState,
  checkpointContents,
  checkpointOptimizer,
  metadataJson,
  restoreParameters,
  tensorsWithPrefix,
} from './model-file.js';
export { type ParameterTree, countParameters, flattenParameters, loadParameters, parameterList } from './parameters.js';
export { YIELD_EVERY_MS, eventYielder, yieldToEvents } from './yield.js';
