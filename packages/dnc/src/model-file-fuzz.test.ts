/**
 * Fuzzes the DNC model-file and checkpoint loaders with the hostile classes of `@engram/tensor/testing`:
 * every config field (and every field of a checkpoint's training state) replaced by each hostile value,
 * hostile tensor names added, bytes flipped and files cut. Each file either loads or is refused with an
 * EngramError naming the problem; Object.prototype is never touched.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshNtmTraining, ntmOptimizer } from '@engram/ntm';
import { Random } from '@engram/tensor';
import { fuzzFileBytes, fuzzMetadataEntry } from '@engram/tensor/testing';
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import { createDnc, defaultDncConfig, dncFromSafetensors, dncRecurrent, dncToSafetensors, loadDncCheckpoint, saveDncCheckpoint } from './index.js';

const model = createDnc(
  defaultDncConfig(5, 4, { controller: { kind: 'lstm', hiddenSize: 8, layers: 1 }, memorySlots: 6, memoryWidth: 3, readHeads: 2 }),
  new Random(1),
);
const good = dncToSafetensors(model);
const folder = mkdtempSync(join(tmpdir(), 'engram-dnc-fuzz-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
const load = (bytes: Uint8Array) => dncFromSafetensors(bytes, 'model.safetensors');

describe('DNC model files, fuzzed', () => {
  it('a hostile value in any config field, with or without a hostile tensor name: loads, or one error naming it', () =>
    fuzzMetadataEntry(fc, good, 'config', load, { numRuns: 1000 }));

  it('flipped bytes and cut files: loads, or one EngramError', () => fuzzFileBytes(fc, good, load));

  it("a hostile value in any field of a checkpoint's training state: resumes, or one error naming it", async () => {
    const path = join(folder, 'checkpoint.safetensors');
    await saveDncCheckpoint(path, model, ntmOptimizer(dncRecurrent(model)), freshNtmTraining(new Random(2)));
    const hostile = join(folder, 'hostile.safetensors');
    await fuzzMetadataEntry(
      fc,
      new Uint8Array(readFileSync(path)),
      'training',
      (bytes) => {
        writeFileSync(hostile, bytes);
        return loadDncCheckpoint(hostile);
      },
      { numRuns: 300, seed: 9 },
    );
  });
});
