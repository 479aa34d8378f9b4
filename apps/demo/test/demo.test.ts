/**
 * The demo in a real browser (Debian's chromium through playwright-core), on the built site
 * (`pnpm --filter @engram/demo build` runs first under turbo): each page loads without a console
 * error, a failed request or a request off the site; the pretrained NTM copies a sequence exactly;
 * training from scratch in the worker lowers the loss; the bAbI model answers a question and
 * attends to its supporting fact. Screenshots go to apps/demo/.screenshots/.
 */
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, DIST, type PageProblems, launch, open, screenshot, serve } from './browser.js';

/** Sequences trained before the loss is compared (about 10–20 s here on the CPU backend). */
const TRAIN_SEQUENCES = 600;
/** Sequences averaged at each end of that run. */
const ENDS = 150;
const PAGE_TIMEOUT_MS = 120_000;

const ready = existsSync(CHROMIUM) && existsSync(`${DIST}/ntm.html`);
if (!ready && process.env.CI) throw new Error(`the browser test needs ${CHROMIUM} and a built demo (${DIST}/ntm.html)`);

interface NtmState {
  backend: string | null;
  usingGpu: boolean;
  trace: { task: string; steps: unknown[]; model: string } | null;
  progress: { sequences: number; loss: number; count: number; errorBits: number }[];
  errors: string[];
}
interface MemnetState {
  loaded: boolean;
  answer: { answer: string; attention: number[][] } | null;
  unknown: string[];
  example: { answer: string; supportingFacts: number[] } | null;
  errors: string[];
}

const ntmState = (page: Page): Promise<NtmState> => page.evaluate(() => (globalThis as unknown as { engramNtm: NtmState }).engramNtm);
const memnetState = (page: Page): Promise<MemnetState> => page.evaluate(() => (globalThis as unknown as { engramMemnet: MemnetState }).engramMemnet);

function expectClean(problems: PageProblems): void {
  expect(problems.console, 'console errors').toEqual([]);
  expect(problems.pageErrors, 'uncaught page errors').toEqual([]);
  expect(problems.failedRequests, 'failed requests').toEqual([]);
  expect(problems.foreignRequests, 'requests to anything but the site').toEqual([]);
}

/** Mean loss per sequence over the first or last `n` sequences of the progress log. */
function meanLoss(progress: NtmState['progress'], n: number, from: 'start' | 'end'): number {
  const chunks = from === 'start' ? progress : [...progress].reverse();
  let seen = 0;
  let sum = 0;
  for (const chunk of chunks) {
    if (seen >= n) break;
    seen += chunk.count;
    sum += chunk.loss * chunk.count;
  }
  return sum / seen;
}

describe.runIf(ready)('the demo in chromium', () => {
  let server: Server;
  let origin: string;
  let context: BrowserContext;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ server, origin } = await serve(DIST));
    ({ context, close } = await launch({ gpu: true }));
  });
  afterAll(async () => {
    await close?.();
    server?.close();
  });

  it('opens the front page', async () => {
    const { page, problems } = await open(context, origin, 'index.html');
    expect(await page.locator('a.tile').count()).toBe(2);
    await screenshot(page, 'index');
    expectClean(problems);
    await page.close();
  });

  it(
    'runs the pretrained NTM on a copy sequence on the GPU backend, and gets every bit right',
    async () => {
      const { page, problems } = await open(context, origin, 'ntm.html');
      await page.waitForFunction(() => document.querySelector('#verdict')?.getAttribute('data-wrong') !== null, undefined, { timeout: PAGE_TIMEOUT_MS });
      const state = await ntmState(page);
      expect(state.usingGpu, `backend: ${state.backend}`).toBe(true);
      expect(state.backend).toBe('gpu (gpu.js webgl2)');
      expect(await page.locator('#backend-status').textContent()).toContain('WebGL2');
      // Length 10 by default: 10 × 8 scored bits.
      expect(await page.locator('#verdict').textContent()).toBe('All 80 bits right');
      expect(state.trace?.steps).toHaveLength(21);
      // A longer sequence, from the slider: the trace follows.
      await page.locator('#length').fill('20');
      await page.waitForFunction(() => (globalThis as unknown as { engramNtm: NtmState }).engramNtm.trace?.steps.length === 41, undefined, {
        timeout: PAGE_TIMEOUT_MS,
      });
      expect(await page.locator('#verdict').getAttribute('data-wrong')).toBe('0');
      // Painting a bit changes the sequence and the model still copies it.
      const before = await page.locator('#verdict').textContent();
      await page.locator('#content-grid').click({ position: { x: 5, y: 5 } });
      await page.waitForFunction(() => (globalThis as unknown as { engramNtm: NtmState }).engramNtm.trace !== null);
      expect(await page.locator('#verdict').getAttribute('data-wrong')).toBe('0');
      expect(before).toBe('All 160 bits right');
      await screenshot(page, 'ntm-copy-gpu');
      // The other two pretrained models, on their default sequences.
      for (const [task, bits] of [
        ['repeat-copy', 'All 144 bits right'],
        ['associative-recall', 'All 18 bits right'],
      ] as const) {
        await page.locator(`#task-picker button[data-task="${task}"]`).click();
        await page.waitForFunction((t) => (globalThis as unknown as { engramNtm: NtmState }).engramNtm.trace?.task === t, task, {
          timeout: PAGE_TIMEOUT_MS,
        });
        expect(await page.locator('#verdict').textContent()).toBe(bits);
        await screenshot(page, `ntm-${task}-gpu`);
      }
      expect((await ntmState(page)).errors).toEqual([]);
      expectClean(problems);
      await page.close();
    },
    PAGE_TIMEOUT_MS * 2,
  );

  it(
    'trains an NTM from scratch in the worker and the loss falls',
    async () => {
      const { page, problems } = await open(context, origin, 'ntm.html?backend=cpu');
      await page.waitForFunction(() => document.body.dataset.backend === 'cpu', undefined, { timeout: PAGE_TIMEOUT_MS });
      await page.locator('#train-toggle').click();
      await page.waitForFunction(
        (target) => ((globalThis as unknown as { engramNtm: NtmState }).engramNtm.progress.at(-1)?.sequences ?? 0) >= target,
        TRAIN_SEQUENCES,
        { timeout: PAGE_TIMEOUT_MS, polling: 500 },
      );
      await page.locator('#train-toggle').click();
      const { progress, errors } = await ntmState(page);
      const first = meanLoss(progress, ENDS, 'start');
      const last = meanLoss(progress, ENDS, 'end');
      expect(last, `loss over the first ${ENDS} sequences ${first.toFixed(2)}, over the last ${last.toFixed(2)}`).toBeLessThan(first * 0.85);
      expect(Number((await page.locator('#stat-speed').textContent()) ?? 0)).toBeGreaterThan(0);
      // Watch the model being trained: its run shows up in the maps.
      await page.locator('#model-choice').selectOption('trainee');
      await page.waitForFunction(() => (globalThis as unknown as { engramNtm: NtmState }).engramNtm.trace?.model === 'trainee', undefined, {
        timeout: PAGE_TIMEOUT_MS,
      });
      await screenshot(page, 'ntm-training');
      expect(errors).toEqual([]);
      expectClean(problems);
      await page.close();
    },
    PAGE_TIMEOUT_MS * 2,
  );

  it(
    'asks the bAbI model about an example story and a story of its own, and flags unknown words',
    async () => {
      const { page, problems } = await open(context, origin, 'memnet.html');
      await page.waitForFunction(() => document.body.dataset.ready === 'true', undefined, { timeout: PAGE_TIMEOUT_MS });
      let state = await memnetState(page);
      expect(state.answer?.answer).toBe(state.example?.answer);
      expect(await page.locator('#expected').textContent()).toContain('✓');
      // The last hop looks hardest at the supporting fact.
      const lastHop = state.answer?.attention.at(-1) ?? [];
      const focus = lastHop.indexOf(Math.max(...lastHop));
      expect(state.example?.supportingFacts).toContain(focus);
      expect(await page.locator('#attention li.support').count()).toBe(state.example?.supportingFacts.length ?? -1);
      await screenshot(page, 'memnet-example');

      await page.locator('#story').fill('Mary went to the kitchen.\nJohn moved to the garden.\nMary travelled to the office.\nJohn journeyed to the hallway.');
      await page.locator('#question').fill('Where is Mary?');
      await page.locator('#ask').click();
      state = await memnetState(page);
      expect(state.answer?.answer).toBe('office');
      expect(await page.locator('#answer').textContent()).toBe('office');

      await page.locator('#story').fill('Mary went to the kitchen.\nMary teleported to Mars.');
      expect(await page.locator('#ask').isDisabled()).toBe(true);
      state = await memnetState(page);
      expect(state.unknown).toEqual(['teleported', 'mars']);
      expect(await page.locator('#preview mark.unknown').count()).toBe(2);
      expect(await page.locator('#unknown-note').textContent()).toContain('“teleported”, “mars”');
      await screenshot(page, 'memnet-unknown-words');
      expect(state.errors).toEqual([]);
      expectClean(problems);
      await page.close();
    },
    PAGE_TIMEOUT_MS,
  );

  it(
    'is readable on a phone',
    async () => {
      const { page, problems } = await open(context, origin, 'memnet.html');
      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForFunction(() => document.body.dataset.ready === 'true', undefined, { timeout: PAGE_TIMEOUT_MS });
      // Nothing wider than the screen except inside the scrolling boxes.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      await screenshot(page, 'phone-memnet');
      await page.goto(`${origin}/ntm.html?backend=cpu`);
      await page.waitForFunction(() => document.querySelector('#verdict')?.getAttribute('data-wrong') === '0', undefined, { timeout: PAGE_TIMEOUT_MS });
      const ntmOverflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(ntmOverflow).toBeLessThanOrEqual(0);
      await screenshot(page, 'phone-ntm');
      expectClean(problems);
      await page.close();
    },
    PAGE_TIMEOUT_MS,
  );
});
