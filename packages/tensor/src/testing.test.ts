import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EngramError, loadSafetensors, saveSafetensors, tensor } from './index.js';
import { fuzzFileBytes, fuzzMetadataEntry } from './testing.js';

const good = saveSafetensors({ 'params.w': tensor([1, 2, 3]) }, { config: JSON.stringify({ size: 3, name: 'x' }) });
/** A careful loader: refuses anything odd with an EngramError. */
const careful = (bytes: Uint8Array) => {
  const { tensors, metadata } = loadSafetensors(bytes);
  for (const name of Object.keys(tensors)) if (name !== 'params.w') throw new EngramError(`unexpected tensor '${name}'`);
  const config = JSON.parse(metadata.config ?? 'null') as { size?: unknown } | null;
  if (config === null || config.size !== 3) throw new EngramError(`'size' must be 3, got ${JSON.stringify(config?.size)}`);
  return tensors;
};

describe('the model-file fuzz helpers', () => {
  it('pass a loader that refuses every hostile file with one EngramError', async () => {
    await fuzzMetadataEntry(fc, good, 'config', careful, { numRuns: 200 });
    fuzzFileBytes(fc, good, careful, { numRuns: 200 });
  });

  it('fail a loader that throws anything else, or accepts a hostile tensor name', async () => {
    const sloppy = (bytes: Uint8Array) => {
      const config = JSON.parse(loadSafetensors(bytes).metadata.config ?? '{}') as { size: number };
      return new Float32Array(config.size).fill(0).length;
    };
    await expect(fuzzMetadataEntry(fc, good, 'config', sloppy, { numRuns: 200 })).rejects.toThrow();
    const accepting = (bytes: Uint8Array) => loadSafetensors(bytes);
    await expect(fuzzMetadataEntry(fc, good, 'config', accepting, { numRuns: 200 })).rejects.toThrow(/Property failed/);
    expect(() => fuzzFileBytes(fc, good, () => Number.NaN.toFixed(-1), { numRuns: 20 })).toThrow();
    await expect(fuzzMetadataEntry(fc, good, 'vocabulary', careful)).rejects.toThrow(/no 'vocabulary' metadata/);
  });
});
