import { EngramError } from '@engram/tensor';

/** How the memory matrix starts each sequence. */
export type MemoryInit = 'constant' | 'learned' | 'random';

/** The controller part of an {@link NtmConfig}. */
export interface ControllerConfig {
  /** An LSTM or a GRU (recurrent), or a feed-forward network. */
  kind: 'lstm' | 'gru' | 'feedforward';
  /** Units per layer. */
  hiddenSize: number;
  /** Stacked layers. */
  layers: number;
}

/** Everything that defines an NTM's architecture. Serialised as JSON beside the weights. */
export interface NtmConfig {
  /** Width of the external input x_t. */
  inputSize: number;
  /** Width of the output y_t. */
  outputSize: number;
  /** The controller network. */
  controller: ControllerConfig;
  /** N: number of memory rows. */
  memorySlots: number;
  /** M: width of a memory row. */
  memoryWidth: number;
  /** Number of read heads. */
  readHeads: number;
  /** Number of write heads. */
  writeHeads: number;
  /** Allowed shifts, an odd count centred on 0 (3: −1, 0, +1). */
  shiftWidth: number;
  /**
   * Memory initialisation: `constant` (every entry {@link NtmConfig.memoryConstant}; Collier & Beel
   * 2018 found it converges ~2× faster and avoids NaNs — the default), `learned` (a trained bias
   * matrix), or `random` (fixed, drawn at creation, as in pytorch-ntm).
   */
  memoryInit: MemoryInit;
  /** The constant for `constant` initialisation (default 1e-6). */
  memoryConstant: number;
  /** Clip the raw head parameters to ±this before their activations (Collier & Beel: 20). 0 disables. */
  controllerClip: number;
}

/**
 * The paper's copy-task NTM: LSTM 100, memory 128 × 20, one read and one write head.
 * @param inputSize - the width of each input vector (the task's input width, delimiter channel included)
 * @param outputSize - the width of each output vector
 * @param overrides - any field to change from the paper's model
 */
export function defaultNtmConfig(inputSize: number, outputSize: number, overrides: Partial<NtmConfig> = {}): NtmConfig {
  const config: NtmConfig = {
    inputSize,
    outputSize,
    controller: { kind: 'lstm', hiddenSize: 100, layers: 1 },
    memorySlots: 128,
    memoryWidth: 20,
    readHeads: 1,
    writeHeads: 1,
    shiftWidth: 3,
    memoryInit: 'constant',
    memoryConstant: 1e-6,
    controllerClip: 20,
    ...overrides,
  };
  validateConfig(config);
  return config;
}

/** Upper bounds of an NTM config's sizes. */
export interface NtmLimits {
  /** Widest input x_t. */
  inputSize: number;
  /** Widest output y_t. */
  outputSize: number;
  /** Most controller units per layer. */
  hiddenSize: number;
  /** Most controller layers. */
  layers: number;
  /** Most memory rows N. */
  memorySlots: number;
  /** Widest memory row M. */
  memoryWidth: number;
  /** Most memory cells N · M. */
  memoryCells: number;
  /** Most read heads, and most write heads. */
  heads: number;
}

/** The largest sizes a config may ask for: they bound what a file can make us allocate. */
export const NTM_LIMITS: Readonly<NtmLimits> = Object.freeze({
  inputSize: 65_536,
  outputSize: 65_536,
  hiddenSize: 8192,
  layers: 16,
  memorySlots: 65_536,
  memoryWidth: 8192,
  memoryCells: 16_777_216,
  heads: 64,
});

/**
 * Checks a config (from code or a JSON file) and names the first bad field; sizes are bounded by {@link NTM_LIMITS}.
 * @param config - the config to check
 */
export function validateConfig(config: NtmConfig): void {
  if (typeof config !== 'object' || config === null) throw new EngramError('NTM config: must be an object');
  if (typeof config.controller !== 'object' || config.controller === null) throw new EngramError('NTM config: controller must be an object');
  const bounded = (name: string, value: unknown, max: number, min = 1): void => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
      throw new EngramError(`NTM config: ${name} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  };
  bounded('inputSize', config.inputSize, NTM_LIMITS.inputSize);
  bounded('outputSize', config.outputSize, NTM_LIMITS.outputSize);
  bounded('controller.hiddenSize', config.controller.hiddenSize, NTM_LIMITS.hiddenSize);
  bounded('controller.layers', config.controller.layers, NTM_LIMITS.layers);
  bounded('memorySlots', config.memorySlots, NTM_LIMITS.memorySlots);
  bounded('memoryWidth', config.memoryWidth, NTM_LIMITS.memoryWidth);
  if (config.memorySlots * config.memoryWidth > NTM_LIMITS.memoryCells)
    throw new EngramError(`NTM config: memorySlots × memoryWidth must be at most ${NTM_LIMITS.memoryCells}, got ${config.memorySlots * config.memoryWidth}`);
  bounded('readHeads', config.readHeads, NTM_LIMITS.heads);
  bounded('writeHeads', config.writeHeads, NTM_LIMITS.heads, 0);
  if (typeof config.memoryConstant !== 'number' || !Number.isFinite(config.memoryConstant))
    throw new EngramError('NTM config: memoryConstant must be a finite number');
  if (typeof config.controllerClip !== 'number' || !(config.controllerClip >= 0))
    throw new EngramError('NTM config: controllerClip must be a non-negative number');
  if (!Number.isInteger(config.shiftWidth) || config.shiftWidth % 2 !== 1 || config.shiftWidth > config.memorySlots) {
    throw new EngramError(`NTM config: shiftWidth must be odd and at most memorySlots, got ${config.shiftWidth}`);
  }
  if (!['lstm', 'gru', 'feedforward'].includes(config.controller.kind))
    throw new EngramError(`NTM config: controller.kind must be 'lstm', 'gru' or 'feedforward', got '${config.controller.kind}'`);
  if (!['constant', 'learned', 'random'].includes(config.memoryInit)) {
    throw new EngramError(`NTM config: memoryInit must be 'constant', 'learned' or 'random', got '${config.memoryInit}'`);
  }
}
