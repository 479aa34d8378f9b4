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
import { Random, loadSafetensors } from '@engram/tensor';
import { HOSTILE_TENSOR_NAMES, HOSTILE_VALUES, hostileModelFile, jsonLeafPaths, refusalProblem, refusalProblemAsync } from '@engram/tensor/testing';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
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
  it('a hostile value in any config field, with or without a hostile tensor name: loads, or one error naming it', () => {
    const paths = jsonLeafPaths(JSON.parse(loadSafetensors(good).metadata.config as string));
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.constantFrom(...HOSTILE_VALUES), fc.option(fc.constantFrom(...HOSTILE_TENSOR_NAMES)), (path, value, name) => {
        expect(refusalProblem(hostileModelFile(good, 'config', path, value, name), load)).toBeNull();
      }),
      { numRuns: 1000, seed: 7 },
    );
  });

  it('flipped bytes and cut files: loads, or one EngramError', () => {
    fc.assert(
      fc.property(fc.nat({ max: good.length - 1 }), fc.nat({ max: 255 }), fc.integer({ min: 1, max: good.length }), (at, byte, cut) => {
        const bytes = good.slice(0, cut);
        if (at < bytes.length) bytes[at] = byte;
        expect(refusalProblem({ bytes, field: '', tensorName: null }, load)).toBeNull();
      }),
      { numRuns: 500, seed: 8 },
    );
  });

  it("a hostile value in any field of a checkpoint's training state: resumes, or one error naming it", async () => {
    const path = join(folder, 'checkpoint.safetensors');
    await saveDncCheckpoint(path, model, ntmOptimizer(dncRecurrent(model)), freshNtmTraining(new Random(2)));
    const checkpoint = new Uint8Array(readFileSync(path));
    const paths = jsonLeafPaths(JSON.parse(loadSafetensors(checkpoint).metadata.training as string));
    const hostile = join(folder, 'hostile.safetensors');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        fc.constantFrom(...HOSTILE_VALUES),
        fc.option(fc.constantFrom(...HOSTILE_TENSOR_NAMES)),
        async (path, value, name) => {
          const file = hostileModelFile(checkpoint, 'training', path, value, name);
          expect(
            await refusalProblemAsync(file, (bytes) => {
              writeFileSync(hostile, bytes);
              return loadDncCheckpoint(hostile);
            }),
          ).toBeNull();
        },
      ),
      { numRuns: 300, seed: 9 },
    );
  });
});
