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

/** The paper's copy-task NTM: LSTM 100, memory 128 × 20, one read and one write head. */
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

/** Checks a config (from code or a JSON file) and names the first bad field. */
export function validateConfig(config: NtmConfig): void {
  const positive = (name: string, value: unknown): void => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
      throw new EngramError(`NTM config: ${name} must be a positive integer, got ${JSON.stringify(value)}`);
  };
  positive('inputSize', config.inputSize);
  positive('outputSize', config.outputSize);
  positive('controller.hiddenSize', config.controller?.hiddenSize);
  positive('controller.layers', config.controller?.layers);
  positive('memorySlots', config.memorySlots);
  positive('memoryWidth', config.memoryWidth);
  positive('readHeads', config.readHeads);
  if (!Number.isInteger(config.writeHeads) || config.writeHeads < 0)
    throw new EngramError(`NTM config: writeHeads must be a non-negative integer, got ${config.writeHeads}`);
  if (!Number.isInteger(config.shiftWidth) || config.shiftWidth % 2 !== 1 || config.shiftWidth > config.memorySlots) {
    throw new EngramError(`NTM config: shiftWidth must be odd and at most memorySlots, got ${config.shiftWidth}`);
  }
  if (!['lstm', 'gru', 'feedforward'].includes(config.controller.kind))
    throw new EngramError(`NTM config: controller.kind must be 'lstm', 'gru' or 'feedforward', got '${config.controller.kind}'`);
  if (!['constant', 'learned', 'random'].includes(config.memoryInit)) {
    throw new EngramError(`NTM config: memoryInit must be 'constant', 'learned' or 'random', got '${config.memoryInit}'`);
  }
}
