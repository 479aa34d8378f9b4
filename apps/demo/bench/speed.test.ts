/**
 * Training speed in the browser, against Node in the same run: the demo's NTM page trains copy
 * with the paper's recipe (full length range, seed 1) on each backend of each browser, and Node
 * trains the same model on the same sequences (same seed) with the same packages. Reports the
 * seconds for the first sequences (200 on the CPU, 20 on WebGL2) and the speed relative to Node.
 * Run: `xvfb-run -a pnpm --filter @engram/demo bench` (after `pnpm build`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { algorithmicTask, sampleBatch } from '@engram/datasets';
import { NTM_RECIPE, newNtm, trainBatch } from '@engram/ntm';
import { Random } from '@engram/tensor';
import { expect, it } from 'vitest';
import { BROWSERS, type BrowserName, DIST, launch, serve } from '../test/browser.js';

/** Sequences timed on the CPU backends, and on WebGL2 (which is far slower without a hardware GPU). */
const SEQUENCES = { cpu: Number(process.env.SEQUENCES ?? 200), gpu: Number(process.env.GPU_SEQUENCES ?? 20) } as const;
const SEED = 1;

interface Progress {
  sequences: number;
  sequencesPerSecond: number;
  count: number;
}

/** Seconds for the first `n` sequences, from the page's per-chunk progress. */
function secondsFor(progress: readonly Progress[], n: number): number {
  let seconds = 0;
  for (const chunk of progress) {
    if (chunk.sequences - chunk.count >= n) break;
    seconds += chunk.count / chunk.sequencesPerSecond;
  }
  return seconds;
}

/** The same training in Node: the worker's recipe, seed and sequences. */
function nodeSeconds(n: number): number {
  const task = algorithmicTask('copy');
  const { model, optimizer, training } = newNtm('copy', SEED);
  const rng = Random.fromState(training.rngState);
  const start = performance.now();
  for (let i = 0; i < n; i++) trainBatch(model, optimizer, sampleBatch(task, rng, 1, {}), { clipValue: NTM_RECIPE.clipValue });
  return (performance.now() - start) / 1000;
}

it.runIf(existsSync(join(DIST, 'ntm.html')))('browser training speed against Node', async () => {
  const { server, origin } = await serve(DIST);
  const rows: string[] = [];
  const node = { cpu: nodeSeconds(SEQUENCES.cpu), gpu: nodeSeconds(SEQUENCES.gpu) };
  for (const backend of ['cpu', 'gpu'] as const)
    rows.push(`| Node 20, cpu backend | ${SEQUENCES[backend]} | ${node[backend].toFixed(1)} s | ${(SEQUENCES[backend] / node[backend]).toFixed(1)} | 1.00 |`);
  for (const name of (Object.keys(BROWSERS) as BrowserName[]).filter((b) => existsSync(BROWSERS[b]))) {
    const browser = await launch(name, origin);
    for (const backend of ['cpu', 'gpu'] as const) {
      const sequences = SEQUENCES[backend];
      const page = await browser.newPage();
      await page.goto(`ntm.html?backend=${backend}`);
      await page.waitUntil(() => document.body.dataset.backend !== undefined);
      const used = await page.evaluate(() => document.body.dataset.backend ?? '');
      // The paper's recipe: no curriculum (unticking resets the model with the same seed).
      await page.evaluate(() => (document.querySelector('#curriculum') as HTMLInputElement).click());
      await page.waitUntil(() => document.querySelector('#train-status')?.textContent?.startsWith('New model') === true);
      await page.click('#train-toggle');
      await page.waitUntil(
        (n) => ((globalThis as unknown as { engramNtm: { progress: Progress[] } }).engramNtm.progress.at(-1)?.sequences ?? 0) >= n,
        sequences,
        900_000,
      );
      await page.click('#train-toggle');
      const progress = await page.evaluate(() => (globalThis as unknown as { engramNtm: { progress: Progress[] } }).engramNtm.progress);
      const seconds = secondsFor(progress, sequences);
      rows.push(
        `| ${name}, ${used} | ${sequences} | ${seconds.toFixed(1)} s | ${(sequences / seconds).toFixed(1)} | ${(node[backend] / seconds).toFixed(2)} |`,
      );
      console.log(rows.at(-1));
      await page.close();
    }
    await browser.close();
  }
  server.close();
  console.log(
    [
      `NTM copy, paper's recipe, seed ${SEED}: time for the first sequences`,
      '| where | sequences | time | sequences / s | speed vs Node |',
      '| --- | --- | --- | --- | --- |',
      ...rows,
    ].join('\n'),
  );
  expect(rows.length).toBeGreaterThan(1);
});
