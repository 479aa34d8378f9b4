/**
 * The long-text page: a shipped LSTM language model (float16, PTB) reads the visitor's text on the page's
 * own thread, with and without a neural cache; every word is coloured by how much the cache changed its
 * probability, and a clicked word shows the top predictions both ways and the cache's weights over the
 * earlier words (which earlier word made it predict this one).
 */
import { type CacheReading, type LmModel, type LmVocabulary, UNKNOWN_WORD, lmFromSafetensors, ptbTokens, readWithCache } from '@engram/lm';
import { byId, fetchBytes } from '../shared/dom.js';
import { colour, divergingColour } from '../shared/heatmap.js';
import { EXAMPLE_TEXT } from './example-text.js';
import type { LmPageState } from './page-state.js';

const MODEL_PATH = 'models/ptb-lstm.safetensors';
/** Predictions listed per side. */
const TOP = 5;
/** The longest text read (words): the forward pass and the cache stay interactive. */
const MAX_WORDS = 3000;
/** θ and λ until the visitor changes them: the values chosen on validation for this model (in its file), else these. */
const FALLBACK = { theta: 0.7, lambda: 0.15 };

const state: LmPageState = { loaded: false, words: 0, unknown: [], modelPerplexity: null, cachePerplexity: null, selected: null, recalled: [], errors: [] };
(globalThis as unknown as { engramLm: LmPageState }).engramLm = state;

const el = {
  status: byId('model-status'),
  text: byId<HTMLTextAreaElement>('text'),
  size: byId<HTMLSelectElement>('size'),
  theta: byId<HTMLInputElement>('theta'),
  lambda: byId<HTMLInputElement>('lambda'),
  read: byId<HTMLButtonElement>('read'),
  unknownNote: byId('unknown-note'),
  summary: byId('summary'),
  position: byId('position'),
  actual: byId('actual'),
  topModel: byId<HTMLOListElement>('top-model'),
  topCache: byId<HTMLOListElement>('top-cache'),
  reading: byId('reading'),
};

let model: LmModel | null = null;
let vocabulary: LmVocabulary | null = null;
let reading: CacheReading | null = null;
let tokens: string[] = [];

const rgb = ([r, g, b]: [number, number, number]): string => `rgb(${Math.round(r)}, ${Math.round(g)}, ${Math.round(b)})`;
const percent = (p: number): string => `${(100 * p).toFixed(p < 0.01 ? 2 : 1)}%`;

function read(): void {
  if (model === null || vocabulary === null) return;
  tokens = ptbTokens(el.text.value).slice(0, MAX_WORDS);
  const { ids, unknown } = vocabulary.encode(tokens);
  const unknownWords = [...new Set(tokens.filter((t) => vocabulary?.id(t) === undefined))];
  state.unknown = unknownWords;
  el.unknownNote.textContent =
    unknown > 0
      ? `${unknown} word${unknown > 1 ? 's' : ''} the model does not know read as ${UNKNOWN_WORD}: ${unknownWords
          .slice(0, 12)
          .map((w) => `“${w}”`)
          .join(', ')}${unknownWords.length > 12 ? ', …' : ''}`
      : '';
  if (ids.length < 2) {
    el.summary.textContent = 'Type at least two words.';
    reading = null;
    el.reading.replaceChildren();
    return;
  }
  const options = { size: Number(el.size.value), theta: Number(el.theta.value), lambda: Number(el.lambda.value) };
  const start = performance.now();
  reading = readWithCache(model, ids, options);
  const ms = performance.now() - start;
  state.words = tokens.length;
  state.modelPerplexity = reading.modelPerplexity;
  state.cachePerplexity = reading.mixedPerplexity;
  const change = (reading.mixedPerplexity / reading.modelPerplexity - 1) * 100;
  el.summary.innerHTML = `Perplexity over these ${tokens.length} words: <b>${reading.modelPerplexity.toFixed(1)}</b> alone, <b>${reading.mixedPerplexity.toFixed(1)}</b> with the cache (${change <= 0 ? '' : '+'}${change.toFixed(1)}%). <span class="muted small">Read in ${ms.toFixed(0)} ms.</span>`;
  renderWords();
  select(Math.max(0, reading.tokens - 1));
}

/** The text as word chips; word i + 1 is what position i predicted. */
function renderWords(): void {
  const current = reading;
  if (current === null) return;
  const chips = tokens.map((word, i) => {
    const chip = document.createElement('button');
    chip.type = 'button';
    chip.className = word === '<eos>' ? 'word eos' : 'word';
    chip.textContent = word === '<eos>' ? '¶' : word;
    chip.dataset.index = String(i);
    if (i > 0) {
      // log₂ of how much the cache multiplied this word's probability, mapped to the diverging map.
      const gain = Math.log2((current.mixedProbability[i - 1] as number) / (current.modelProbability[i - 1] as number));
      chip.style.background = rgb(divergingColour(gain / 3));
      chip.title = `${percent(current.modelProbability[i - 1] as number)} alone, ${percent(current.mixedProbability[i - 1] as number)} with the cache`;
      chip.addEventListener('click', () => select(i - 1));
    }
    return chip;
  });
  el.reading.replaceChildren(...chips);
}

/** Shows position t: the predictions for word t + 1 both ways, and the cache's weights over the earlier words. */
function select(t: number): void {
  const current = reading;
  if (current === null || vocabulary === null) return;
  state.selected = t;
  const word = (id: number) => vocabulary?.word(id) ?? '?';
  const next = tokens[t + 1] ?? '';
  el.position.textContent = `“${tokens.slice(Math.max(0, t - 4), t + 1).join(' ')} …”`;
  el.actual.innerHTML = `Next word: <b>${next}</b> — ${percent(current.modelProbability[t] as number)} alone, ${percent(current.mixedProbability[t] as number)} with the cache.`;
  const top = current.top(t, TOP);
  const list = (target: HTMLOListElement, words: { id: number; probability: number }[]) =>
    target.replaceChildren(
      ...words.map((w) => {
        const li = document.createElement('li');
        li.textContent = `${word(w.id)} ${percent(w.probability)}`;
        if (word(w.id) === next) li.className = 'hit';
        return li;
      }),
    );
  list(el.topModel, top.model);
  list(el.topCache, top.withCache);
  const recalled = current.recall(t);
  state.recalled = recalled.map((r) => ({ position: r.position, weight: r.weight }));
  const strongest = Math.max(1e-12, ...recalled.map((r) => r.weight));
  const weightAt = new Map(recalled.map((r) => [r.position, r.weight]));
  for (const chip of el.reading.querySelectorAll<HTMLButtonElement>('.word')) {
    const i = Number(chip.dataset.index);
    chip.classList.toggle('selected', i === t + 1);
    const weight = weightAt.get(i);
    chip.style.outline = weight === undefined ? '' : `2px solid ${rgb(colour(weight / strongest))}`;
    chip.dataset.recall = weight === undefined ? '' : weight.toFixed(4);
  }
}

async function load(): Promise<void> {
  try {
    const loaded = lmFromSafetensors(new Uint8Array(await fetchBytes(MODEL_PATH)), MODEL_PATH);
    model = loaded.model;
    vocabulary = loaded.vocabulary;
    const c = model.config;
    const tuned = { theta: Number(loaded.metadata.cacheTheta ?? FALLBACK.theta), lambda: Number(loaded.metadata.cacheLambda ?? FALLBACK.lambda) };
    el.theta.value = String(tuned.theta);
    el.lambda.value = String(tuned.lambda);
    const trained = loaded.metadata.trainedEpochs ? `, trained ${loaded.metadata.trainedEpochs} epochs` : '';
    const valid = loaded.metadata.validPerplexity ? `, validation perplexity ${Number(loaded.metadata.validPerplexity).toFixed(1)}` : '';
    el.status.textContent = `LSTM ${c.layers} × ${c.hiddenSize}, ${vocabulary.size.toLocaleString('en-US')} words${trained}${valid}.`;
    el.text.value = EXAMPLE_TEXT;
    state.loaded = true;
    read();
    document.body.dataset.ready = 'true';
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    state.errors.push(message);
    el.status.textContent = `could not load the model: ${message}`;
  }
}

el.read.addEventListener('click', read);
for (const input of [el.size, el.theta, el.lambda]) input.addEventListener('change', read);
void load();
