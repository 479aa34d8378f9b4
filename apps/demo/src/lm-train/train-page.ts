/**
 * The training page: the visitor's text (or generated stories) is split into training and held-out words and sent
 * to the worker (train-worker.ts), which trains a MemN2N language model of the chosen sizes. The page draws the
 * progress and the held-out perplexity after each epoch against a bigram's, reads the held-out words with each
 * epoch's model (sent back as a file's bytes), colours them by the probability the model gave them, and shows, for a
 * clicked word, each hop's attention over the words before it. The model can be downloaded for `engram show`.
 */
import { type LmVocabulary, MAX_WORD_LENGTH } from '@engram/lm';
import { type MemnetLmReading, memnetLmFromSafetensors, readMemnetLm } from '@engram/memnet';
import { drawCurve } from '../shared/curve.js';
import { byId, count } from '../shared/dom.js';
import { colour } from '../shared/heatmap.js';
import { drawHopAttention, outlineRecalled, percent, rgb, shownWord as shown, wordChip } from '../shared/reading.js';
import type { TrainPageState } from './page-state.js';
import { TRAINER_RECIPE, type TrainerReply, type TrainerRequest, type TrainerSizes } from './protocol.js';
import { PAGE_STORIES, type SplitText, splitText, storyText } from './training-text.js';

/** The model's seed (its initial weights and the positions sampled). */
const MODEL_SEED = 1;
/** The most words read from the visitor's text, and the most characters looked at to find them. */
const MAX_WORDS = 300_000;
const MAX_CHARACTERS = 4_000_000;
/** Held-out words shown as chips. */
const SHOWN_WORDS = 400;
/** Predictions listed, and words per hop listed under the map. */
const TOP = 5;
const TOP_RECALLED = 4;
/** The hop map's cells (CSS pixels). */
const HOP_CELL = { width: 14, height: 18 };

const state: TrainPageState = {
  started: null,
  training: false,
  progress: null,
  epochs: [],
  ended: null,
  words: 0,
  selected: null,
  top: [],
  hops: [],
  exported: null,
  errors: [],
};
(globalThis as unknown as { engramTrainLm: TrainPageState }).engramTrainLm = state;

const el = {
  status: byId('train-status'),
  text: byId<HTMLTextAreaElement>('text'),
  stories: byId<HTMLButtonElement>('stories'),
  hops: byId<HTMLSelectElement>('hops'),
  memory: byId<HTMLSelectElement>('memory'),
  embedding: byId<HTMLSelectElement>('embedding'),
  train: byId<HTMLButtonElement>('train'),
  restart: byId<HTMLButtonElement>('restart'),
  download: byId<HTMLButtonElement>('download'),
  textNote: byId('text-note'),
  epoch: byId('stat-epoch'),
  speed: byId('stat-speed'),
  trainPerplexity: byId('stat-train'),
  valid: byId('stat-valid'),
  bigram: byId('stat-bigram'),
  curve: byId<HTMLCanvasElement>('curve'),
  recipeNote: byId('recipe-note'),
  hopsCard: byId('hops-card'),
  position: byId('position'),
  actual: byId('actual'),
  top: byId<HTMLOListElement>('top'),
  hopMap: byId<HTMLCanvasElement>('hop-map'),
  hopWords: byId('hop-words'),
  reading: byId('reading'),
};

const worker = new Worker(new URL('./train-worker.ts', import.meta.url), { type: 'module' });
const send = (request: TrainerRequest): void => worker.postMessage(request);

/** The text and sizes the current run was started with (null: none yet, or the text or sizes changed since). */
let current: { split: SplitText; sizes: TrainerSizes } | null = null;
/** The held-out words read with the last epoch's model, and the model file. */
let reading: { words: string[]; result: MemnetLmReading; vocabulary: LmVocabulary; bytes: Uint8Array; epoch: number } | null = null;

function showError(message: string): void {
  state.errors.push(message);
  el.status.textContent = message;
  el.status.classList.add('error');
}

function sizes(): TrainerSizes {
  return { hops: Number(el.hops.value), memorySize: Number(el.memory.value), embeddingSize: Number(el.embedding.value) };
}

/** A fresh run on the text and sizes as they are now: the worker makes the corpus and the model. */
function startRun(): boolean {
  const text = el.text.value.slice(0, MAX_CHARACTERS);
  const split = splitText(text);
  if (split.train.length + split.valid.length === 0) {
    showError('Paste a text first, or press “Generated stories”.');
    return false;
  }
  const words = split.train.length + split.valid.length;
  const capped = words > MAX_WORDS ? splitText(text.split(/\s+/).slice(0, MAX_WORDS).join(' ')) : split;
  current = { split: capped, sizes: sizes() };
  state.started = null;
  state.epochs = [];
  state.progress = null;
  state.ended = null;
  reading = null;
  el.download.disabled = true;
  el.status.classList.remove('error');
  el.status.textContent = 'reading the text…';
  state.selected = null;
  const cut = words > MAX_WORDS || text.length < el.text.value.length;
  const notes = [
    cut ? `The text is long: about the first ${count(Math.min(words, MAX_WORDS))} words are read.` : '',
    capped.long > 0 ? `${count(capped.long)} word${capped.long > 1 ? 's' : ''} longer than ${MAX_WORD_LENGTH} characters read as <unk>.` : '',
  ];
  el.textNote.textContent = notes.filter((n) => n !== '').join(' ');
  for (const stat of [el.epoch, el.speed, el.trainPerplexity, el.valid, el.bigram]) stat.textContent = '–';
  el.reading.replaceChildren();
  el.hopsCard.hidden = true;
  drawEpochs();
  send({ type: 'start', train: current.split.train, valid: current.split.valid, sizes: current.sizes, seed: MODEL_SEED });
  return true;
}

function setTraining(on: boolean): void {
  state.training = on;
  el.train.textContent = on ? 'Pause' : state.epochs.length > 0 || state.progress ? 'Continue' : 'Train';
  send({ type: 'run', run: on });
}

function drawEpochs(): void {
  const points = state.epochs.map((e) => ({ x: e.epoch + 1, y: e.validPerplexity }));
  const bigram = state.started?.bigram;
  drawCurve(el.curve, points, 'held-out perplexity', {
    xLabel: 'epochs',
    xMax: 10,
    ...(bigram === undefined ? {} : { reference: { y: bigram, label: `bigram ${bigram.toFixed(2)}` } }),
  });
}

function onReply(reply: TrainerReply): void {
  switch (reply.type) {
    case 'started': {
      const s = reply.started;
      state.started = s;
      el.bigram.textContent = s.bigram.toFixed(2);
      const unknown = s.unknownValid > 0 ? `, ${count(s.unknownValid)} of them not in the training words (read as <unk>)` : '';
      el.status.textContent = `${count(s.trainWords)} training words, ${count(s.validWords)} held out${unknown}; ${count(s.vocabulary)} distinct words; a model of ${count(s.parameters)} parameters.`;
      el.recipeNote.textContent = `Batch ${TRAINER_RECIPE.batch}, SGD η ${TRAINER_RECIPE.learningRate} ÷ ${TRAINER_RECIPE.decay} whenever the held-out perplexity does not improve, until η < ${TRAINER_RECIPE.minLearningRate} or ${TRAINER_RECIPE.maxEpochs} epochs; an epoch is ${count(s.stepsPerEpoch)} steps. The dashed line: a bigram count model of the same training words (one word back, the best of a few smoothing weights).`;
      drawEpochs();
      return;
    }
    case 'progress': {
      const p = reply.progress;
      state.progress = p;
      el.epoch.textContent = `${p.epoch + 1} (${Math.round(p.fraction * 100)}%)`;
      el.speed.textContent = count(p.wordsPerSecond);
      el.trainPerplexity.textContent = p.perplexity.toFixed(2);
      return;
    }
    case 'epoch': {
      state.epochs.push({ epoch: reply.epoch, validPerplexity: reply.validPerplexity, seconds: reply.seconds });
      el.valid.textContent = reply.validPerplexity.toFixed(2);
      drawEpochs();
      readHeldOut(new Uint8Array(reply.bytes), reply.epoch);
      return;
    }
    case 'ended':
      state.ended = reply.message;
      state.training = false;
      el.train.textContent = 'Train';
      el.train.disabled = true;
      el.status.textContent = reply.message;
      if (reply.outcome === 'failed') showError(reply.message);
      return;
    case 'paused':
      return;
    case 'error':
      state.training = false;
      el.train.textContent = 'Train';
      current = null;
      showError(reply.message);
      return;
  }
}

/** Reads the held-out words with an epoch's model and shows them (and the position looked at, again). */
function readHeldOut(bytes: Uint8Array, epoch: number): void {
  if (current === null) return;
  const loaded = memnetLmFromSafetensors(bytes, `the model after epoch ${epoch + 1}`);
  const words = current.split.valid.slice(0, SHOWN_WORDS);
  const ids = loaded.vocabulary.encode(words).ids;
  if (ids.length < 2) return;
  reading = { words, result: readMemnetLm(loaded.model, ids), vocabulary: loaded.vocabulary, bytes, epoch };
  el.download.disabled = false;
  state.words = words.length;
  const chips = words.map((w, i) => {
    const chip = wordChip(w, i);
    if (i > 0 && reading) {
      const p = reading.result.probability[i - 1] as number;
      chip.style.background = rgb(colour(p));
      if (p > 0.5) chip.style.color = '#111';
      chip.title = `${percent(p)} after epoch ${epoch + 1}`;
      chip.addEventListener('click', () => select(i - 1));
    }
    return chip;
  });
  el.reading.replaceChildren(...chips);
  select(state.selected ?? Math.min(words.length - 2, 60));
}

/** Shows position t: the model's predictions for held-out word t + 1 and each hop's attention over the words before. */
function select(t: number): void {
  if (reading === null) return;
  const { words, result, vocabulary } = reading;
  state.selected = t;
  const { top, hops } = result.inspect(t, TOP);
  const vocabularyWord = (id: number) => vocabulary.word(id);
  state.top = top.map((w) => vocabularyWord(w.id));
  state.hops = hops.map((h) => h.weights);
  el.hopsCard.hidden = false;
  el.position.textContent = `“${words
    .slice(Math.max(0, t - 4), t + 1)
    .map(shown)
    .join(' ')} …”`;
  el.actual.innerHTML = '';
  el.actual.append('Next word: ', Object.assign(document.createElement('b'), { textContent: shown(words[t + 1] ?? '') }));
  el.actual.append(` — ${percent(result.probability[t] as number)} after epoch ${reading.epoch + 1}. The model's most likely words:`);
  el.top.replaceChildren(
    ...top.map((w) => {
      const li = document.createElement('li');
      li.textContent = `${shown(vocabularyWord(w.id))} ${percent(w.probability)}`;
      if (vocabularyWord(w.id) === words[t + 1]) li.className = 'hit';
      return li;
    }),
  );
  drawHopAttention(el.hopMap, el.hopWords, hops, words, { cellWidth: HOP_CELL.width, cellHeight: HOP_CELL.height, top: TOP_RECALLED });
  // The last hop's weights outline the words in memory.
  const last = hops[hops.length - 1];
  outlineRecalled(el.reading, t + 1, last?.positions.map((position, i) => ({ position, weight: last.weights[i] as number })) ?? []);
}

function download(): void {
  if (reading === null) return;
  const name = `engram-memnet-lm-epoch${reading.epoch + 1}.safetensors`;
  const url = URL.createObjectURL(new Blob([reading.bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  Object.assign(document.createElement('a'), { href: url, download: name }).click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  state.exported = { name, bytes: reading.bytes.byteLength };
  el.status.textContent = `Saved ${name}. In a terminal: engram show --run ${name} --text "…"`;
}

/** The text or the sizes changed: the next Train starts afresh. */
function invalidate(): void {
  if (state.training) setTraining(false);
  current = null;
  el.train.disabled = false;
  el.train.textContent = 'Train';
}

worker.onmessage = (event: MessageEvent<TrainerReply>) => {
  try {
    onReply(event.data);
  } catch (error) {
    showError(error instanceof Error ? error.message : String(error));
  }
};
worker.onerror = (event) => showError(`the worker failed: ${event.message}`);
el.train.addEventListener('click', () => {
  if (state.training) return setTraining(false);
  if (current === null && !startRun()) return;
  setTraining(true);
});
el.restart.addEventListener('click', () => {
  invalidate();
  if (startRun()) setTraining(true);
});
el.stories.addEventListener('click', () => {
  el.text.value = storyText(PAGE_STORIES.seed, PAGE_STORIES.words);
  invalidate();
});
el.download.addEventListener('click', download);
el.text.addEventListener('input', invalidate);
for (const select of [el.hops, el.memory, el.embedding]) select.addEventListener('change', invalidate);

el.text.value = storyText(PAGE_STORIES.seed, PAGE_STORIES.words);
el.status.textContent = 'Ready: press Train (the generated stories are in the box; paste your own text instead if you like).';
drawEpochs();
document.body.dataset.ready = 'true';
