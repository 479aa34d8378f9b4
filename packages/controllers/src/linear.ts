import { type Random, type Tensor, add, glorotUniform, matmul, zeros } from '@engram/tensor';

/** A dense layer's parameters: y = x·W + b. */
export interface LinearParameters {
  /** W, `[input, output]`. */
  weight: Tensor;
  /** b, `[output]` (absent when created without bias). */
  bias?: Tensor;
}

/** Options for {@link createLinear}. */
export interface LinearOptions {
  /** Include a bias (default true). */
  bias?: boolean;
  /** Initial bias value (default 0). */
  biasValue?: number;
}

/**
 * A dense layer with Glorot-uniform weights drawn from `rng`.
 * @param inputSize - the width of the input
 * @param outputSize - the width of the output
 * @param rng - the seeded random source the initial weights are drawn from
 * @param options - whether there is a bias (default yes) and its initial value (default 0)
 */
export function createLinear(inputSize: number, outputSize: number, rng: Random, options: LinearOptions = {}): LinearParameters {
  const weight = glorotUniform([inputSize, outputSize], rng);
  if (options.bias === false) return { weight };
  const bias = zeros([outputSize], { requiresGrad: true });
  if (options.biasValue !== undefined && options.biasValue !== 0) bias.assign(new Float32Array(outputSize).fill(options.biasValue));
  return { weight, bias };
}

/**
 * y = x·W + b for x `[batch, input]` (or any leading axes).
 * @param params - the layer's weights, from `createLinear`
 * @param x - the input, [batch, inputSize]
 */
export function linear(params: LinearParameters, x: Tensor): Tensor {
  const y = matmul(x, params.weight);
  return params.bias ? add(y, params.bias) : y;
}
