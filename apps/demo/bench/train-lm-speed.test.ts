/**
 * The training page's speed in the browser, against Node in the same run: the page trains its default MemN2N language
 * model (2 hops, memory 30, 32 dimensions, seed 1) on the generated stories in its worker, in each browser, and Node
 * trains the same model on the same words with the same recipe and packages. Reports the training seconds for the
 * first epochs (each epoch's validation included, as the loop counts them), words per second, the speed relative to
 * Node, and the held-out perplexity after the last of them.
 * Run: `xvfb-run -a pnpm --filter @engram/demo bench` (after `pnpm build`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { countParameters } from '@engram/tensor';
import { createMemnet, memnetLmConfig, trainMemnetLm } from '@engram/memnet';
import { Random } from '@engram/tensor';
import { expect, it } from 'vitest';
import type { TrainPageState } from '../src/lm-train/page-state.js';
import { TRAINER_RECIPE } from '../src/lm-train/protocol.js';
import { PAGE_STORIES, splitText, storyText, trainerCorpus } from '../src/lm-train/training-text.js';
import { BROWSERS, type BrowserName, DIST, launch, serve } from '../test/browser.js';

const EPOCHS = Number(process.env.EPOCHS ?? 5);
/** The sizes the page's menus start at (its stories: PAGE_STORIES). */
const SIZES = { hops: 2, memorySize: 30, embeddingSize: 32 };
const SEED = 1;

interface Timed {
  seconds: number;
  valid: number;
  parameters: number;
}

async function nodeRun(): Promise<Timed & { trainWords: number }> {
  const corpus = trainerCorpus(splitText(storyText(PAGE_STORIES.seed, PAGE_STORIES.words)));
  const model = createMemnet(memnetLmConfig(corpus.vocabulary.size, SIZES), new Random(SEED));
  const epochs: { seconds: number; valid: number }[] = [];
  await trainMemnetLm(model, corpus, {
    recipe: { ...TRAINER_RECIPE, maxEpochs: EPOCHS },
    seed: SEED,
    checkpointEvery: Number.POSITIVE_INFINITY,
    onEpoch: (e) => {
      epochs.push({ seconds: e.seconds, valid: e.validPerplexity });
    },
  });
  const last = epochs[EPOCHS - 1] as { seconds: number; valid: number };
  return { ...last, parameters: countParameters(model.params), trainWords: corpus.train.length };
}

it.runIf(existsSync(join(DIST, 'train-lm.html')))(
  'the training page: browser training speed against Node',
  async () => {
    const { server, origin } = await serve(DIST);
    const node = await nodeRun();
    const words = node.trainWords * EPOCHS;
    const row = (where: string, t: Timed, ratio: number) =>
      `| ${where} | ${EPOCHS} | ${t.seconds.toFixed(1)} s | ${Math.round(words / t.seconds).toLocaleString('en-US')} | ${ratio.toFixed(2)} | ${t.valid.toFixed(3)} |`;
    const rows = [row('Node 20, cpu backend', node, 1)];
    for (const name of (Object.keys(BROWSERS) as BrowserName[]).filter((b) => existsSync(BROWSERS[b]))) {
      const browser = await launch(name, origin);
      const page = await browser.newPage();
      await page.goto('train-lm.html');
      await page.waitUntil(() => document.body.dataset.ready === 'true');
      await page.click('#train');
      await page.waitUntil((n) => (globalThis as unknown as { engramTrainLm: TrainPageState }).engramTrainLm.epochs.length >= n, EPOCHS, 600_000);
      await page.click('#train');
      const state = await page.evaluate(() => (globalThis as unknown as { engramTrainLm: TrainPageState }).engramTrainLm);
      const last = state.epochs[EPOCHS - 1] as { seconds: number; validPerplexity: number };
      // The same model: the page's sizes are the ones Node trained.
      expect(state.started?.parameters).toBe(node.parameters);
      const timed = { seconds: last.seconds, valid: last.validPerplexity, parameters: node.parameters };
      rows.push(row(name, timed, node.seconds / timed.seconds));
      await page.close();
      await browser.close();
    }
    server.close();
    console.log(
      [
        `MemN2N LM on the generated stories (${node.trainWords.toLocaleString('en-US')} training words), the page's defaults, seed ${SEED}: the first ${EPOCHS} epochs`,
        '| where | epochs | training time | words / s | speed vs Node | held-out perplexity |',
        '| --- | --- | --- | --- | --- | --- |',
        ...rows,
      ].join('\n'),
    );
    expect(rows.length).toBeGreaterThan(1);
  },
  900_000,
);
