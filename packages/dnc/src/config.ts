import { EngramError } from '@engram/tensor';

/** The controller part of a {@link DncConfig}. */
export interface DncControllerConfig {
  /** An LSTM or a GRU (recurrent), or a feed-forward network. */
  kind: 'lstm' | 'gru' | 'feedforward';
  /** Units per layer. */
  hiddenSize: number;
  /** Stacked layers. */
  layers: number;
}

/** Everything that defines a DNC's architecture. Serialised as JSON beside the weights. */
export interface DncConfig {
  /** Width of the external input x_t. */
  inputSize: number;
  /** Width of the output y_t. */
  outputSize: number;
  /** The controller network. */
  controller: DncControllerConfig;
  /** N: number of memory locations. */
  memorySlots: number;
  /** W: width of a memory word. */
  memoryWidth: number;
  /** R: number of read heads. */
  readHeads: number;
  /** Number of write heads (the paper: 1; deepmind/dnc allows several, allocated one after another). */
  writeHeads: number;
  /** Clip the controller output and the DNC's output to ±this (deepmind/dnc's training script: 20); 0 disables. */
  clip: number;
}

/**
 * The deepmind/dnc training script's repeat-copy DNC: LSTM 64, memory 16 × 16, 4 read heads, 1
 * write head, outputs clipped to ±20.
 * @param inputSize - the width of each input vector
 * @param outputSize - the width of each output vector
 * @param overrides - any field to change
 */
export function defaultDncConfig(inputSize: number, outputSize: number, overrides: Partial<DncConfig> = {}): DncConfig {
  const config: DncConfig = {
    inputSize,
    outputSize,
    controller: { kind: 'lstm', hiddenSize: 64, layers: 1 },
    memorySlots: 16,
    memoryWidth: 16,
    readHeads: 4,
    writeHeads: 1,
    clip: 20,
    ...overrides,
  };
  validateDncConfig(config);
  return config;
}

/** Upper bounds of a DNC config's sizes. */
export interface DncLimits {
  /** Widest input x_t, and widest output y_t. */
  width: number;
  /** Most controller units per layer. */
  hiddenSize: number;
  /** Most controller layers. */
  layers: number;
  /** Most memory locations N (the link matrix is N × N per write head). */
  memorySlots: number;
  /** Widest memory word W. */
  memoryWidth: number;
  /** Most read heads, and most write heads. */
  heads: number;
}

/** The largest sizes a config may ask for: they bound what a file can make us allocate. */
export const DNC_LIMITS: Readonly<DncLimits> = Object.freeze({
  width: 65_536,
  hiddenSize: 8192,
  layers: 16,
  memorySlots: 4096,
  memoryWidth: 4096,
  heads: 64,
});

/**
 * Checks a config (from code or a JSON file) and names the first bad field; sizes are bounded by {@link DNC_LIMITS}.
 * @param config - the config to check
 */
export function validateDncConfig(config: DncConfig): void {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new EngramError('DNC config: must be an object');
  if (typeof config.controller !== 'object' || config.controller === null || Array.isArray(config.controller))
    throw new EngramError('DNC config: controller must be an object');
  const bounded = (name: string, value: unknown, max: number, min = 1): void => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
      throw new EngramError(`DNC config: ${name} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  };
  bounded('inputSize', config.inputSize, DNC_LIMITS.width);
  bounded('outputSize', config.outputSize, DNC_LIMITS.width);
  if (!['lstm', 'gru', 'feedforward'].includes(config.controller.kind))
    throw new EngramError(`DNC config: controller.kind must be 'lstm', 'gru' or 'feedforward', got ${JSON.stringify(config.controller.kind)}`);
  bounded('controller.hiddenSize', config.controller.hiddenSize, DNC_LIMITS.hiddenSize);
  bounded('controller.layers', config.controller.layers, DNC_LIMITS.layers);
  bounded('memorySlots', config.memorySlots, DNC_LIMITS.memorySlots);
  bounded('memoryWidth', config.memoryWidth, DNC_LIMITS.memoryWidth);
  bounded('readHeads', config.readHeads, DNC_LIMITS.heads);
  bounded('writeHeads', config.writeHeads, DNC_LIMITS.heads);
  if (typeof config.clip !== 'number' || !(config.clip >= 0) || !Number.isFinite(config.clip))
    throw new EngramError(`DNC config: clip must be a non-negative number, got ${JSON.stringify(config.clip)}`);
}
