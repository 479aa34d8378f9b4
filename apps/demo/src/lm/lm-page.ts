/**
 * The long-text page: a shipped LSTM language model (float16, PTB) reads the visitor's text on the page's
 * own thread, and beside it one of two memories: the neural cache over the LSTM's own hidden states, or a
 * MemN2N language model attending over the previous 200 words in 7 hops (loaded when chosen). Every word is
 * coloured by how much the memory changed its probability against the LSTM alone; a clicked word shows the
 * top predictions both ways and which earlier words the memory weighed there (the cache's weights, or the
 * chosen hop's attention, with every hop drawn as a heatmap).
 */
import {
  type CacheReading,
  type LmModel,
  type LmVocabulary,
  UNKNOWN_WORD,
  type WordProbability,
  lmFromSafetensors,
  ptbTokens,
  readWithCache,
} from '@engram/lm';
import { type MemnetLmReading, type MemnetModel, memnetLmFromSafetensors, readMemnetLm } from '@engram/memnet';
import { byId, fetchBytes, parameter } from '../shared/dom.js';
import { divergingColour } from '../shared/heatmap.js';
import { type HopAttention, drawHopAttention, outlineRecalled, percent, rgb, shownWord as shown, wordChip } from '../shared/reading.js';
import { EXAMPLE_TEXT } from './example-text.js';
import type { LmPageState } from './page-state.js';

const LSTM_PATH = 'models/ptb-lstm.safetensors';
const MEMNET_PATH = 'models/ptb-memnet.safetensors';
/** Predictions listed per side. */
const TOP = 5;
/** Words per hop listed under the hop map. */
const TOP_RECALLED = 4;
/** The longest text read (words): the forward passes and the cache stay interactive. */
const MAX_WORDS = 3000;
/** θ and λ until the visitor changes them: the values chosen on validation for this model (in its file), else these. */
const FALLBACK = { theta: 0.7, lambda: 0.15 };
/** The hop map's cells (CSS pixels). */
const HOP_CELL = { width: 4, height: 12 };

const state: LmPageState = {
  loaded: false,
  memory: 'cache',
  words: 0,
  unknown: [],
  modelPerplexity: null,
  cachePerplexity: null,
  memnetPerplexity: null,
  fullMemoryWords: 0,
  selected: null,
  recalled: [],
  hops: [],
  errors: [],
};
(globalThis as unknown as { engramLm: LmPageState }).engramLm = state;

const el = {
  status: byId('model-status'),
  text: byId<HTMLTextAreaElement>('text'),
  memory: byId<HTMLSelectElement>('memory'),
  cacheControls: byId('cache-controls'),
  size: byId<HTMLSelectElement>('size'),
  theta: byId<HTMLInputElement>('theta'),
  lambda: byId<HTMLInputElement>('lambda'),
  read: byId<HTMLButtonElement>('read'),
  unknownNote: byId('unknown-note'),
  summary: byId('summary'),
  position: byId('position'),
  actual: byId('actual'),
  memoryTitle: byId('memory-title'),
  topModel: byId<HTMLOListElement>('top-model'),
  topMemory: byId<HTMLOListElement>('top-memory'),
  recallNote: byId('recall-note'),
  colourNote: byId('colour-note'),
  hopsCard: byId('hops-card'),
  hop: byId<HTMLSelectElement>('hop'),
  hopMap: byId<HTMLCanvasElement>('hop-map'),
  hopWords: byId('hop-words'),
  reading: byId('reading'),
};

/** The models as they load: the LSTM at once, the MemN2N when chosen. */
let lstm: { model: LmModel; vocabulary: LmVocabulary; describe: string } | null = null;
let memnet: Promise<{ model: MemnetModel; describe: string }> | null = null;
/** The text read and what each model made of it. */
let tokens: string[] = [];
let cacheReading: CacheReading | null = null;
let memnetReading: MemnetLmReading | null = null;
/** The first position the MemN2N predicts with a full memory (0 for the cache: every position counts). */
let fullMemoryFrom = 0;

const word = (id: number): string => lstm?.vocabulary.word(id) ?? '?';
/** exp of the mean −log p over positions `from` … end. */
function perplexityFrom(probability: ArrayLike<number>, from: number): number {
  let nats = 0;
  for (let t = from; t < probability.length; t++) nats -= Math.log(probability[t] as number);
  return Math.exp(nats / (probability.length - from));
}

/** What the chosen memory says at a position: its top words, the earlier words it weighed, and (MemN2N) every hop's weights. */
interface MemoryAt {
  top: WordProbability[];
  recalled: { position: number; weight: number }[];
  hops: { positions: number[]; weights: number[]; empty: number }[];
}

/** What the chosen memory says, whichever it is: the right-hand column and the word colours. */
interface MemoryView {
  /** The column's title. */
  title: string;
  /** p(w_{t+1}) with the memory, at each position. */
  probability: ArrayLike<number>;
  /** Position t looked at closely (for the MemN2N, one forward pass). */
  at(t: number): MemoryAt;
}

function memoryView(): MemoryView | null {
  const cache = cacheReading;
  if (cache === null) return null;
  if (state.memory === 'cache') {
    return {
      title: 'With the cache',
      probability: cache.mixedProbability,
      at: (t) => ({ top: cache.top(t, TOP).withCache, recalled: cache.recall(t).map((r) => ({ position: r.position, weight: r.weight })), hops: [] }),
    };
  }
  const memory = memnetReading;
  if (memory === null) return null;
  return {
    title: 'MemN2N',
    probability: memory.probability,
    at: (t) => {
      const { top, hops } = memory.inspect(t, TOP);
      const chosen = Number(el.hop.value);
      // Every hop holds the same positions: one hop's attention at each, or the mean over the hops.
      const positions = hops[0]?.positions ?? [];
      const weight = (i: number) =>
        chosen >= 0 ? ((hops[chosen]?.weights[i] as number) ?? 0) : hops.reduce((a, h) => a + (h.weights[i] as number), 0) / hops.length;
      return { top, recalled: positions.map((position, i) => ({ position, weight: weight(i) })), hops };
    },
  };
}

async function read(): Promise<void> {
  if (lstm === null) return;
  const { vocabulary } = lstm;
  tokens = ptbTokens(el.text.value).slice(0, MAX_WORDS);
  const encoded = vocabulary.encode(tokens);
  const ids = encoded.ids;
  const unknownWords = [...new Set(tokens.filter((t) => vocabulary.id(t) === undefined))];
  state.unknown = unknownWords;
  el.unknownNote.textContent =
    encoded.unknown > 0
      ? `${encoded.unknown} word${encoded.unknown > 1 ? 's' : ''} the model does not know read as ${UNKNOWN_WORD}: ${unknownWords
          .slice(0, 12)
          .map((w) => `“${w}”`)
          .join(', ')}${unknownWords.length > 12 ? ', …' : ''}`
      : '';
  cacheReading = null;
  memnetReading = null;
  if (ids.length < 2) {
    el.summary.textContent = 'Type at least two words.';
    el.reading.replaceChildren();
    return;
  }
  const options = { size: Number(el.size.value), theta: Number(el.theta.value), lambda: Number(el.lambda.value) };
  let start = performance.now();
  const cache = readWithCache(lstm.model, ids, options);
  let ms = performance.now() - start;
  cacheReading = cache;
  state.words = tokens.length;
  state.modelPerplexity = cache.modelPerplexity;
  state.cachePerplexity = cache.mixedPerplexity;
  state.memnetPerplexity = null;
  state.fullMemoryWords = 0;
  const change = (p: number) => {
    const c = (p / cache.modelPerplexity - 1) * 100;
    return `${c <= 0 ? '' : '+'}${c.toFixed(1)}%`;
  };
  fullMemoryFrom = 0;
  if (state.memory === 'cache') {
    el.summary.innerHTML = `Perplexity over these ${tokens.length} words: <b>${cache.modelPerplexity.toFixed(1)}</b> for the LSTM alone, <b>${cache.mixedPerplexity.toFixed(1)}</b> with the cache (${change(cache.mixedPerplexity)}). <span class="muted small">Read in ${ms.toFixed(0)} ms.</span>`;
  } else {
    el.summary.textContent = 'Loading the MemN2N model…';
    const { model } = await (memnet ?? loadMemnet());
    if (cacheReading !== cache) return; // read again meanwhile
    start = performance.now();
    const reading = readMemnetLm(model, ids);
    ms = performance.now() - start;
    memnetReading = reading;
    // The MemN2N was trained only on words with N words before them, as the paper's code trains and tests it: the
    // comparison counts those words (from position N − 1, which predicts word N), and the earlier ones are faded.
    const n = model.config.memorySize;
    fullMemoryFrom = n - 1;
    const counted = cache.tokens - fullMemoryFrom;
    const timing = `<span class="muted small">MemN2N read in ${ms.toFixed(0)} ms.</span>`;
    if (counted < 1) {
      el.summary.innerHTML = `The MemN2N predicts each word from the ${n} words before it, and was trained only that way: this text has ${tokens.length} words, too few to compare it fairly (perplexity ${reading.perplexity.toFixed(1)} over them, the LSTM alone ${cache.modelPerplexity.toFixed(1)}). Paste a text of more than ${n} words. ${timing}`;
    } else {
      const lstmAlone = perplexityFrom(cache.modelProbability, fullMemoryFrom);
      const memory = perplexityFrom(reading.probability, fullMemoryFrom);
      state.memnetPerplexity = memory;
      state.fullMemoryWords = counted;
      const c = (memory / lstmAlone - 1) * 100;
      el.summary.innerHTML = `Perplexity over the ${counted} words with ${n} words before them (the MemN2N reads the ${n} before each word, and was trained only on such words; the first ${n} are faded): <b>${lstmAlone.toFixed(1)}</b> for the LSTM alone, <b>${memory.toFixed(1)}</b> for the MemN2N (${c <= 0 ? '' : '+'}${c.toFixed(1)}%), ${perplexityFrom(cache.mixedProbability, fullMemoryFrom).toFixed(1)} for the LSTM with the cache. ${timing}`;
    }
  }
  renderWords();
  select(Math.max(0, cache.tokens - 1));
}

/** The text as word chips; word i + 1 is what position i predicted. */
function renderWords(): void {
  const view = memoryView();
  const cache = cacheReading;
  if (view === null || cache === null) return;
  const chips = tokens.map((w, i) => {
    const chip = wordChip(w, i);
    if (i > 0) {
      // log₂ of how much the memory multiplied this word's probability against the LSTM alone, mapped to the diverging map.
      const alone = cache.modelProbability[i - 1] as number;
      const withMemory = view.probability[i - 1] as number;
      chip.style.background = rgb(divergingColour(Math.log2(withMemory / alone) / 3));
      chip.title = `${percent(alone)} LSTM alone, ${percent(withMemory)} ${state.memory === 'cache' ? 'with the cache' : 'MemN2N'}`;
      if (i - 1 < fullMemoryFrom) {
        chip.classList.add('faded');
        chip.title += ` (the MemN2N saw ${i} word${i > 1 ? 's' : ''} before it, not ${fullMemoryFrom + 1})`;
      }
      chip.addEventListener('click', () => select(i - 1));
    }
    return chip;
  });
  el.reading.replaceChildren(...chips);
}

/** Shows position t: the predictions for word t + 1 both ways, and what the memory weighed among the earlier words. */
function select(t: number): void {
  const view = memoryView();
  const cache = cacheReading;
  if (view === null || cache === null) return;
  state.selected = t;
  const next = tokens[t + 1] ?? '';
  el.position.textContent = `“${tokens.slice(Math.max(0, t - 4), t + 1).join(' ')} …”`;
  el.actual.innerHTML = `Next word: <b>${shown(next)}</b> — ${percent(cache.modelProbability[t] as number)} LSTM alone, ${percent(view.probability[t] as number)} ${state.memory === 'cache' ? 'with the cache' : 'MemN2N'}.`;
  el.memoryTitle.textContent = view.title;
  const list = (target: HTMLOListElement, words: WordProbability[]) =>
    target.replaceChildren(
      ...words.map((w) => {
        const li = document.createElement('li');
        li.textContent = `${shown(word(w.id))} ${percent(w.probability)}`;
        if (word(w.id) === next) li.className = 'hit';
        return li;
      }),
    );
  list(el.topModel, cache.top(t, TOP).model);
  const { top, recalled, hops } = view.at(t);
  list(el.topMemory, top);
  state.recalled = recalled;
  state.hops = hops.map((h) => h.weights);
  outlineRecalled(el.reading, t + 1, recalled);
  renderHops(hops);
}

/** The MemN2N's attention at the shown position: every hop over the words in memory, and each hop's strongest words. */
function renderHops(hops: readonly HopAttention[]): void {
  el.hopsCard.hidden = hops.length === 0;
  if (hops.length === 0) return;
  drawHopAttention(el.hopMap, el.hopWords, hops, tokens, { cellWidth: HOP_CELL.width, cellHeight: HOP_CELL.height, top: TOP_RECALLED });
}

/** Fetches the MemN2N model once (9 MiB), the first time the visitor chooses it. */
function loadMemnet(): Promise<{ model: MemnetModel; describe: string }> {
  memnet ??= fetchBytes(MEMNET_PATH).then((bytes) => {
    const loaded = memnetLmFromSafetensors(new Uint8Array(bytes), MEMNET_PATH);
    const c = loaded.model.config;
    // The hop chooser: each hop, or their mean; the last hop (the one the answer reads) to start.
    el.hop.replaceChildren(
      new Option('all hops (mean)', '-1'),
      ...Array.from({ length: c.hops }, (_, k) => new Option(`hop ${k + 1}${k === c.hops - 1 ? ' (last)' : ''}`, String(k), false, k === c.hops - 1)),
    );
    return { model: loaded.model, describe: `MemN2N ${c.hops} hops over ${c.memorySize} words, ${c.embeddingSize}-d${trainedNote(loaded.metadata)}` };
  });
  return memnet;
}

/** ", trained E epochs, validation perplexity V" from a model file's metadata (what is there of it). */
function trainedNote(metadata: Record<string, string>): string {
  const trained = metadata.trainedEpochs ? `, trained ${metadata.trainedEpochs} epochs` : '';
  const valid = metadata.validPerplexity ? `, validation perplexity ${Number(metadata.validPerplexity).toFixed(1)}` : '';
  return `${trained}${valid}`;
}

async function describe(): Promise<void> {
  if (lstm === null) return;
  const parts = [lstm.describe];
  if (state.memory === 'memnet') parts.push((await (memnet ?? loadMemnet())).describe);
  el.status.textContent = `${parts.join('. ')}.`;
}

/** Switches between the cache and the MemN2N: the controls, the notes, and a fresh read. */
async function chooseMemory(): Promise<void> {
  state.memory = el.memory.value === 'memnet' ? 'memnet' : 'cache';
  const cache = state.memory === 'cache';
  el.cacheControls.hidden = !cache;
  el.recallNote.textContent = cache
    ? 'In the text below, the earlier words the cache recalled here are lit by their weight (the word after each is what it voted for).'
    : 'In the text below, the words in the MemN2N’s memory are lit by the chosen hop’s attention; the map below shows every hop.';
  el.colourNote.textContent = `Colour: how much ${cache ? 'the cache' : 'the MemN2N'} changed the probability of each word against the LSTM alone (orange: raised, blue: lowered). Click a word.`;
  el.hopsCard.hidden = true;
  await guarded(async () => {
    await read();
    await describe();
  });
}

/** Runs a step of the page, showing any error to the visitor. */
async function guarded(step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    state.errors.push(message);
    el.status.textContent = `could not load the model: ${message}`;
  }
}

async function load(): Promise<void> {
  await guarded(async () => {
    const loaded = lmFromSafetensors(new Uint8Array(await fetchBytes(LSTM_PATH)), LSTM_PATH);
    const c = loaded.model.config;
    lstm = {
      model: loaded.model,
      vocabulary: loaded.vocabulary,
      describe: `LSTM ${c.layers} × ${c.hiddenSize}, ${loaded.vocabulary.size.toLocaleString('en-US')} words${trainedNote(loaded.metadata)}`,
    };
    el.theta.value = String(Number(loaded.metadata.cacheTheta ?? FALLBACK.theta));
    el.lambda.value = String(Number(loaded.metadata.cacheLambda ?? FALLBACK.lambda));
    el.text.value = EXAMPLE_TEXT;
    el.memory.value = parameter('memory', 'cache') === 'memnet' ? 'memnet' : 'cache';
    await chooseMemory();
    state.loaded = true;
    document.body.dataset.ready = 'true';
  });
}

el.read.addEventListener('click', () => void guarded(read));
for (const input of [el.size, el.theta, el.lambda]) input.addEventListener('change', () => void guarded(read));
el.memory.addEventListener('change', () => {
  document.body.dataset.ready = 'false';
  void chooseMemory().then(() => {
    document.body.dataset.ready = 'true';
  });
});
el.hop.addEventListener('change', () => {
  if (state.selected !== null) select(state.selected);
});
void load();
