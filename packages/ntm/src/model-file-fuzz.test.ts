/**
 * Fuzzes the NTM model-file loader with the hostile classes of `@engram/tensor/testing`: every config
 * field replaced by each hostile value, hostile tensor names added, bytes flipped and files cut.
 * Each file either loads or is refused with an EngramError naming the problem; Object.prototype is
 * never touched.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Random } from '@engram/tensor';
import { fuzzFileBytes, fuzzMetadataEntry } from '@engram/tensor/testing';
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import { createNtm, defaultNtmConfig, freshNtmTraining, loadCheckpoint, ntmFromSafetensors, ntmOptimizer, ntmToSafetensors, saveCheckpoint } from './index.js';

const model = createNtm(defaultNtmConfig(5, 4, { controller: { kind: 'lstm', hiddenSize: 8, layers: 1 }, memorySlots: 6, memoryWidth: 3 }), new Random(1));
const good = ntmToSafetensors(model);
const folder = mkdtempSync(join(tmpdir(), 'engram-ntm-fuzz-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
const load = (bytes: Uint8Array) => ntmFromSafetensors(bytes, new Random(0), 'model.safetensors');

describe('NTM model files, fuzzed', () => {
  it('a hostile value in any config field, with or without a hostile tensor name: loads, or one error naming it', () =>
    fuzzMetadataEntry(fc, good, 'config', load, { numRuns: 1000 }));

  it('flipped bytes and cut files: loads, or one EngramError', () => fuzzFileBytes(fc, good, load));

  it("a hostile value in any field of a checkpoint's training state: resumes, or one error naming it", async () => {
    const path = join(folder, 'checkpoint.safetensors');
    await saveCheckpoint(path, model, ntmOptimizer(model), freshNtmTraining(new Random(2)));
    const hostile = join(folder, 'hostile.safetensors');
    await fuzzMetadataEntry(
      fc,
      new Uint8Array(readFileSync(path)),
      'training',
      (bytes) => {
        writeFileSync(hostile, bytes);
        return loadCheckpoint(hostile, new Random(0));
      },
      { numRuns: 300, seed: 9 },
    );
  });
});
