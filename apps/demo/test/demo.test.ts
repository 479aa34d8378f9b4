/**
 * The demo in real browsers — Debian's chromium and firefox-esr — on the built site (turbo builds
 * it before `test`): each page loads without a console error, a failed request or a request off the
 * site; the pretrained NTMs get their sequences right on the GPU backend; training from scratch in
 * the worker lowers the loss; the bAbI model answers, attends to the supporting fact and flags
 * unknown words; the language model reads a long text with the cache below its perplexity alone and
 * shows what each word recalled; the pages fit a phone's width. Screenshots go to apps/demo/.screenshots/.
 */
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LmPageState } from '../src/lm/page-state.js';
import type { TrainPageState } from '../src/lm-train/page-state.js';
import { PAGE_STORIES, splitText, storyText } from '../src/lm-train/training-text.js';
import { BROWSERS, type BrowserName, DIST, type DemoBrowser, type DemoPage, type PageProblems, launch, serve } from './browser.js';

/** Sequences trained before the loss is compared (5–15 s here on the CPU backend). */
const TRAIN_SEQUENCES = 600;
/** Sequences averaged at each end of that run. */
const ENDS = 150;
const SCENARIO_TIMEOUT_MS = 240_000;
/** A phone's viewport (CSS pixels). */
const PHONE = { width: 390, height: 844 } as const;

const built = existsSync(join(DIST, 'ntm.html'));
const available = (Object.keys(BROWSERS) as BrowserName[]).filter((name) => existsSync(BROWSERS[name]));
if (process.env.CI && (!built || available.length < 2))
  throw new Error(`the browser test needs a built demo (${DIST}) and both browsers (${Object.values(BROWSERS).join(', ')})`);

interface NtmState {
  backend: string | null;
  usingGpu: boolean;
  timing: { gpu: number; cpu: number } | null;
  firstTraceAt: number | null;
  timedAt: number | null;
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

interface DncState {
  trace: { steps: { readModes: number[][] }[] } | null;
  wrong: number | null;
  errors: string[];
}

const dncState = (page: DemoPage): Promise<DncState> => page.evaluate(() => (globalThis as unknown as { engramDnc: DncState }).engramDnc);
const lmState = (page: DemoPage): Promise<LmPageState> => page.evaluate(() => (globalThis as unknown as { engramLm: LmPageState }).engramLm);
const trainLmState = (page: DemoPage): Promise<TrainPageState> =>
  page.evaluate(() => (globalThis as unknown as { engramTrainLm: TrainPageState }).engramTrainLm);
const ntmState = (page: DemoPage): Promise<NtmState> => page.evaluate(() => (globalThis as unknown as { engramNtm: NtmState }).engramNtm);
const memnetState = (page: DemoPage): Promise<MemnetState> => page.evaluate(() => (globalThis as unknown as { engramMemnet: MemnetState }).engramMemnet);
const text = (page: DemoPage, selector: string): Promise<string | null> => page.evaluate((s) => document.querySelector(s)?.textContent ?? null, selector);
const attribute = (page: DemoPage, selector: string, name: string): Promise<string | null> =>
  page.evaluate(([s, n]) => document.querySelector(s as string)?.getAttribute(n as string) ?? null, [selector, name]);
const count = (page: DemoPage, selector: string): Promise<number> => page.evaluate((s) => document.querySelectorAll(s).length, selector);
const horizontalOverflow = (page: DemoPage): Promise<number> =>
  page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

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

const verdictShown = (): boolean => document.querySelector('#verdict')?.getAttribute('data-wrong') !== null;
const traceOf = (task: string): boolean => (globalThis as unknown as { engramNtm: NtmState }).engramNtm.trace?.task === task;
const traceLength = (steps: number): boolean => (globalThis as unknown as { engramNtm: NtmState }).engramNtm.trace?.steps.length === steps;
const memnetReady = (): boolean => document.body.dataset.ready === 'true';

describe.runIf(built).each(available)('the demo in %s', (name) => {
  let server: Server;
  let origin: string;
  let browser: DemoBrowser;

  beforeAll(async () => {
    ({ server, origin } = await serve(DIST));
    browser = await launch(name, origin);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  it('opens the front page', async () => {
    const page = await browser.newPage();
    await page.goto('index.html');
    expect(await count(page, 'a.tile')).toBe(5);
    await page.screenshot('index');
    expectClean(page.problems);
    await page.close();
  });

  it(
    'runs the pretrained NTMs on the GPU backend (WebGL2) and gets every bit right',
    async () => {
      const page = await browser.newPage();
      await page.goto('ntm.html?backend=gpu');
      await page.waitUntil(verdictShown);
      const state = await ntmState(page);
      expect(state.usingGpu, `backend: ${state.backend}`).toBe(true);
      expect(state.backend).toBe('gpu (gpu.js webgl2)');
      expect(await text(page, '#backend-status')).toBe('Backend: gpu.js WebGL2');
      // Copy, length 10 by default: 10 × 8 scored bits.
      expect(await text(page, '#verdict')).toBe('All 80 bits right');
      expect(state.trace?.steps).toHaveLength(21);
      // The length slider: twice as long, and the trace follows.
      await page.fill('#length', '20');
      await page.waitUntil(traceLength, 41);
      expect(await text(page, '#verdict')).toBe('All 160 bits right');
      // Painting a bit changes the sequence; the model still copies it.
      const before = await page.evaluate(() => JSON.stringify((globalThis as unknown as { engramNtm: { content: unknown } }).engramNtm.content));
      await page.click('#content-grid', { x: 5, y: 5 });
      await page.waitUntil((old) => JSON.stringify((globalThis as unknown as { engramNtm: { content: unknown } }).engramNtm.content) !== old, before);
      await page.waitUntil(traceLength, 41);
      expect(await attribute(page, '#verdict', 'data-wrong')).toBe('0');
      // Play walks the time step to the end; one map per head plus the memory.
      await page.click('#play');
      await page.waitUntil(() => (globalThis as unknown as { engramNtm: { time: number } }).engramNtm.time === 40);
      expect(await count(page, '#heads canvas')).toBe(3);
      await page.screenshot('ntm-copy');
      // The other two pretrained models, on their default sequences.
      for (const [task, bits] of [
        ['repeat-copy', 'All 144 bits right'],
        ['associative-recall', 'All 18 bits right'],
      ] as const) {
        await page.click(`#task-picker button[data-task="${task}"]`);
        await page.waitUntil(traceOf, task);
        expect(await text(page, '#verdict')).toBe(bits);
        await page.screenshot(`ntm-${task}`);
      }
      expect((await ntmState(page)).errors).toEqual([]);
      expectClean(page.problems);
      await page.close();
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'picks the faster backend by measuring both, trains an NTM from scratch in the worker, and the loss falls',
    async () => {
      const page = await browser.newPage();
      await page.goto('ntm.html');
      await page.waitUntil(verdictShown);
      // The pretrained run is drawn first (on the CPU); the backends are timed after it.
      await page.waitUntil(() => (globalThis as unknown as { engramNtm: NtmState }).engramNtm.timing !== null);
      const { timing, usingGpu, firstTraceAt, timedAt } = await ntmState(page);
      expect(firstTraceAt, 'the first run was drawn').not.toBeNull();
      expect(firstTraceAt as number).toBeLessThan(timedAt as number);
      expect(timing, 'both backends timed').not.toBeNull();
      expect(usingGpu).toBe((timing?.gpu ?? 0) > (timing?.cpu ?? 0));
      expect(await text(page, '#backend-status')).toMatch(/the faster here \(a training step measured: WebGL2 [\d.]+, CPU [\d.]+ sequences\/s\)/);
      await page.click('#train-toggle');
      await page.waitUntil(
        (target) => ((globalThis as unknown as { engramNtm: NtmState }).engramNtm.progress.at(-1)?.sequences ?? 0) >= target,
        TRAIN_SEQUENCES,
      );
      await page.click('#train-toggle');
      const { progress, errors } = await ntmState(page);
      const first = meanLoss(progress, ENDS, 'start');
      const last = meanLoss(progress, ENDS, 'end');
      expect(last, `loss over the first ${ENDS} sequences ${first.toFixed(2)}, over the last ${last.toFixed(2)}`).toBeLessThan(first * 0.85);
      expect(Number(await text(page, '#stat-speed'))).toBeGreaterThan(0);
      // Watch the model being trained: its run replaces the pretrained one in the maps.
      await page.fill('#model-choice', 'trainee');
      await page.waitUntil(() => (globalThis as unknown as { engramNtm: NtmState }).engramNtm.trace?.model === 'trainee');
      // Download it: a .safetensors file the CLI reads (engram show --run FILE).
      await page.click('#download');
      await page.waitUntil(() => (globalThis as unknown as { engramNtm: { exported: unknown } }).engramNtm.exported !== null);
      const exported = await page.evaluate(() => (globalThis as unknown as { engramNtm: { exported: { name: string; bytes: number } } }).engramNtm.exported);
      expect(exported.name).toMatch(/^engram-ntm-copy-\d+\.safetensors$/);
      expect(exported.bytes).toBeGreaterThan(250_000);
      await page.screenshot('ntm-training');
      expect(errors).toEqual([]);
      expectClean(page.problems);
      await page.close();
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'asks the bAbI model about an example story and a story of its own, and flags unknown words',
    async () => {
      const page = await browser.newPage();
      await page.goto('memnet.html');
      await page.waitUntil(memnetReady);
      let state = await memnetState(page);
      expect(state.answer?.answer).toBe(state.example?.answer);
      expect(await text(page, '#expected')).toContain('✓');
      // The last hop looks hardest at the supporting fact, and the page marks it.
      const lastHop = state.answer?.attention.at(-1) ?? [];
      expect(state.example?.supportingFacts).toContain(lastHop.indexOf(Math.max(...lastHop)));
      expect(await count(page, '#attention li.support')).toBe(state.example?.supportingFacts.length);
      await page.screenshot('memnet-example');

      await page.fill('#story', 'Mary went to the kitchen.\nJohn moved to the garden.\nMary travelled to the office.\nJohn journeyed to the hallway.');
      await page.fill('#question', 'Where is Mary?');
      await page.click('#ask');
      state = await memnetState(page);
      expect(state.answer?.answer).toBe('office');
      expect(await text(page, '#answer')).toBe('office');

      await page.fill('#story', 'Mary went to the kitchen.\nMary teleported to Mars.');
      expect(await page.evaluate(() => (document.querySelector('#ask') as HTMLButtonElement).disabled)).toBe(true);
      // The old answer is marked out of date rather than shown as if it answered the new story.
      expect(await count(page, '#answer-card.stale')).toBe(1);
      state = await memnetState(page);
      expect(state.unknown).toEqual(['teleported', 'mars']);
      expect(await count(page, '#preview mark.unknown')).toBe(2);
      expect(await text(page, '#unknown-note')).toContain('“teleported”, “mars”');
      await page.screenshot('memnet-unknown-words');
      expect(state.errors).toEqual([]);
      expectClean(page.problems);
      await page.close();
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'reads a long text with the neural cache, lower perplexity than without, and shows what each word recalled',
    async () => {
      const page = await browser.newPage();
      await page.goto('lm.html');
      await page.waitUntil(() => document.body.dataset.ready === 'true');
      let state = await lmState(page);
      expect(state.loaded).toBe(true);
      expect(state.words).toBeGreaterThan(80);
      // The example repeats its names and phrases: the cache must help.
      expect(state.cachePerplexity).toBeLessThan((state.modelPerplexity ?? 0) * 0.9);
      expect(await count(page, '#reading .word')).toBe(state.words);
      // The last word recalled earlier positions, weights summing to 1.
      expect(state.recalled.length).toBeGreaterThan(10);
      expect(state.recalled.reduce((a, r) => a + r.weight, 0)).toBeCloseTo(1, 3);
      // Click a word: its predictions both ways, and the recalled words lit.
      await page.click('#reading .word[data-index="20"]');
      state = await lmState(page);
      expect(state.selected).toBe(19);
      expect(await count(page, '#top-model li')).toBe(5);
      expect(await count(page, '#top-memory li')).toBe(5);
      expect(await attribute(page, '#hops-card', 'hidden')).not.toBeNull();
      expect(await count(page, '#reading .word[data-recall]:not([data-recall=""])')).toBe(19);
      await page.screenshot('lm-example');
      await page.fill('#text', 'The zorblaxian fund said the zorblaxian stake would be sold.');
      await page.click('#read');
      state = await lmState(page);
      expect(state.unknown).toEqual(['zorblaxian']);
      expect(await text(page, '#unknown-note')).toContain('“zorblaxian”');
      expect(state.errors).toEqual([]);
      expectClean(page.problems);
      await page.close();
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'reads the text with the MemN2N language model too: its perplexity, every hop’s attention over the words in memory',
    async () => {
      const page = await browser.newPage();
      await page.goto('lm.html?memory=memnet');
      await page.waitUntil(() => document.body.dataset.ready === 'true');
      let state = await lmState(page);
      expect(state.memory).toBe('memnet');
      // Compared on the words with 200 words before them; the first 199 predictions faded.
      expect(state.fullMemoryWords).toBe(state.words - 200);
      expect(state.memnetPerplexity).toBeGreaterThan(1);
      expect(state.memnetPerplexity).toBeLessThan(200);
      expect(await count(page, '#reading .word.faded')).toBe(199);
      expect(await text(page, '#model-status')).toContain('MemN2N 7 hops over 200 words');
      expect(await attribute(page, '#cache-controls', 'hidden')).not.toBeNull();
      // The last word: 7 hops, each a distribution over the (up to 200) words before it.
      expect(state.hops).toHaveLength(7);
      for (const hop of state.hops) {
        expect(hop).toHaveLength(Math.min(200, state.words - 1));
        expect(hop.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      }
      expect(await count(page, '#hop-words li')).toBe(7);
      // Word 20 is predicted from the 20 words before it; the outlined words are the last hop's, then the mean's.
      await page.click('#reading .word[data-index="20"]');
      state = await lmState(page);
      expect(state.selected).toBe(19);
      expect(state.recalled.map((r) => r.position)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(state.recalled.map((r) => r.weight)).toEqual(state.hops[6]);
      expect(await count(page, '#reading .word[data-recall]:not([data-recall=""])')).toBe(20);
      expect(await count(page, '#top-memory li')).toBe(5);
      // With 20 of 200 words, the rest of each hop's attention is on the empty memories, and the list says how much.
      for (const hop of state.hops) expect(hop.reduce((a, b) => a + b, 0)).toBeLessThan(1);
      expect(await text(page, '#hop-words')).toMatch(/hop 1: .*\(empty memories [\d.]+%\)/);
      await page.fill('#hop', '-1');
      state = await lmState(page);
      const mean = (state.hops[0] ?? []).map((_, i) => state.hops.reduce((a, h) => a + (h[i] as number), 0) / 7);
      for (const [i, r] of state.recalled.entries()) expect(r.weight).toBeCloseTo(mean[i] as number, 6);
      await page.screenshot('lm-memnet');
      // A text shorter than the memory: said, not compared.
      await page.fill('#text', 'The pension fund said it will sell its stake in the airline.');
      await page.click('#read');
      await page.waitUntil(() => (globalThis as unknown as { engramLm: LmPageState }).engramLm.words === 13);
      expect((await lmState(page)).memnetPerplexity).toBeNull();
      expect(await text(page, '#summary')).toContain('too few to compare it fairly');
      // Back to the cache: its controls again, no hop map.
      await page.fill('#memory', 'cache');
      await page.waitUntil(() => document.body.dataset.ready === 'true');
      state = await lmState(page);
      expect(state.hops).toEqual([]);
      expect(await attribute(page, '#hops-card', 'hidden')).not.toBeNull();
      expect(await attribute(page, '#cache-controls', 'hidden')).toBeNull();
      expect(state.errors).toEqual([]);
      expectClean(page.problems);
      await page.close();
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'trains a MemN2N language model on the generated stories in the worker until it beats the bigram, and shows each hop’s attention',
    async () => {
      const page = await browser.newPage();
      await page.goto('train-lm.html');
      await page.waitUntil(() => document.body.dataset.ready === 'true');
      await page.click('#train');
      // An epoch of the 18,000 training words takes about a second: wait for the held-out perplexity to beat the bigram's.
      await page.waitUntil(() => {
        const s = (globalThis as unknown as { engramTrainLm: TrainPageState }).engramTrainLm;
        const last = s.epochs[s.epochs.length - 1];
        return s.errors.length > 0 || (s.started !== null && s.progress !== null && last !== undefined && last.validPerplexity < s.started.bigram * 0.8);
      });
      let state = await trainLmState(page);
      expect(state.errors).toEqual([]);
      // Every training word, and <unk> for held-out words outside them (none here).
      const stories = splitText(storyText(PAGE_STORIES.seed, PAGE_STORIES.words));
      expect(state.started?.vocabulary).toBe(new Set(stories.train).size + 1);
      expect(state.started?.trainWords).toBe(stories.train.length);
      expect(state.started?.unknownValid).toBe(0);
      // The stories name their person again and again: a bigram cannot know who, the memory can.
      expect(state.started?.bigram).toBeGreaterThan(4);
      expect(state.epochs.length).toBeLessThanOrEqual(12);
      expect(state.progress?.wordsPerSecond).toBeGreaterThan(0);
      // The held-out words, coloured; a click shows 2 hops over the 30 words in memory.
      await page.click('#train');
      await page.waitUntil(() => document.querySelector('#train')?.textContent === 'Continue');
      expect(await count(page, '#reading .word')).toBe(state.words);
      await page.click('#reading .word[data-index="50"]');
      state = await trainLmState(page);
      expect(state.selected).toBe(49);
      expect(state.hops).toHaveLength(2);
      for (const hop of state.hops) {
        expect(hop).toHaveLength(30);
        expect(hop.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      }
      expect(state.top).toHaveLength(5);
      expect(await count(page, '#hop-words li')).toBe(2);
      await page.screenshot('train-lm');
      // The model downloads as an Engram MemN2N language-model file.
      await page.click('#download');
      state = await trainLmState(page);
      expect(state.exported?.name).toMatch(/^engram-memnet-lm-epoch\d+\.safetensors$/);
      expect(state.exported?.bytes).toBeGreaterThan(10_000);
      // Your own text: one too short for a memory of 30 is refused, with the reason.
      await page.fill('#text', 'The cat sat on the mat. The dog sat on the log.');
      await page.click('#train');
      await page.waitUntil(() => (globalThis as unknown as { engramTrainLm: TrainPageState }).engramTrainLm.errors.length > 0);
      expect((await trainLmState(page)).errors[0]).toMatch(/a memory of 30 needs more than 31/);
      expectClean(page.problems);
      await page.close();
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'runs the pretrained DNC on a repeat-copy sequence and draws its allocation, usage, read modes and links',
    async () => {
      const page = await browser.newPage();
      await page.goto('dnc.html');
      await page.waitUntil(() => (globalThis as unknown as { engramDnc: DncState }).engramDnc.trace !== null);
      const state = await dncState(page);
      // Length 2, 2 repeats (the trained range): 2 + 1 + 2 × 2 + 1 steps, every output bit right.
      expect(state.trace?.steps).toHaveLength(8);
      expect(await text(page, '#verdict')).toBe('All 25 bits right');
      for (const step of state.trace?.steps ?? []) for (const modes of step.readModes) expect(modes.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      // Write, allocation, usage and 4 read weightings; 4 read modes and the link matrix.
      expect(await count(page, '#memory-maps canvas')).toBe(7);
      expect(await count(page, '#mode-maps canvas')).toBe(5);
      // A longer sequence than trained still runs and is judged.
      await page.fill('#length', '4');
      await page.waitUntil(() => (globalThis as unknown as { engramDnc: DncState }).engramDnc.trace?.steps.length === 14);
      expect(await attribute(page, '#verdict', 'data-wrong')).not.toBeNull();
      await page.screenshot('dnc-repeat-copy');
      expect((await dncState(page)).errors).toEqual([]);
      expectClean(page.problems);
      await page.close();
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'fits a phone screen',
    async () => {
      const page = await browser.newPage();
      await page.setViewport(PHONE.width, PHONE.height);
      await page.goto('memnet.html');
      await page.waitUntil(memnetReady);
      // Nothing wider than the screen, except inside the scrolling boxes.
      expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
      await page.screenshot('phone-memnet');
      await page.goto('ntm.html?backend=cpu');
      await page.waitUntil(() => document.querySelector('#verdict')?.getAttribute('data-wrong') === '0');
      expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
      await page.screenshot('phone-ntm');
      await page.goto('lm.html');
      await page.waitUntil(() => document.body.dataset.ready === 'true');
      expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
      await page.screenshot('phone-lm');
      await page.goto('train-lm.html');
      await page.waitUntil(() => document.body.dataset.ready === 'true');
      expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
      await page.screenshot('phone-train-lm');
      await page.goto('dnc.html');
      await page.waitUntil(() => (globalThis as unknown as { engramDnc: DncState }).engramDnc.trace !== null);
      expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
      await page.screenshot('phone-dnc');
      expectClean(page.problems);
      await page.close();
    },
    SCENARIO_TIMEOUT_MS,
  );
});
