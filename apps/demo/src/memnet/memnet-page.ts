/**
 * The memory network page: a shipped MemN2N (three hops, trained jointly on bAbI 1k), example
 * stories or the visitor's own, words it does not know flagged before asking, and each hop's
 * attention over the sentences with the supporting facts marked when they are known. The model is
 * small enough to answer on the page's own thread in a few milliseconds.
 */
import { type Vocabulary, tokenize } from '@engram/datasets';
import { type MemnetAnswer, type MemnetModel, type MemnetQuestion, answerQuestions, memnetFromSafetensors, unknownWords } from '@engram/memnet';
import { Random, getDefaultBackend } from '@engram/tensor';
import { byId, fetchBytes, parameter } from '../shared/dom.js';
import { type ExampleStory, STORY_KINDS } from './stories.js';

const MODEL_PATH = 'models/babi-joint.safetensors';
/** Seed of the example stories: a fresh page shows the same first story. */
const STORY_SEED = 2015;
/** The story box grows with the story from this many lines. */
const MIN_STORY_ROWS = 6;
/** Alternatives listed under the answer. */
const ALTERNATIVES = 3;

/** What the page shows, exposed as `window.engramMemnet` (for the curious and the browser test). */
interface PageState {
  loaded: boolean;
  backend: string | null;
  example: ExampleStory | null;
  unknown: string[];
  answer: MemnetAnswer | null;
  errors: string[];
}
const state: PageState = { loaded: false, backend: null, example: null, unknown: [], answer: null, errors: [] };
(globalThis as unknown as { engramMemnet: PageState }).engramMemnet = state;

const el = {
  status: byId('model-status'),
  kind: byId<HTMLSelectElement>('kind'),
  newStory: byId<HTMLButtonElement>('new-story'),
  story: byId<HTMLTextAreaElement>('story'),
  question: byId<HTMLInputElement>('question'),
  unknownNote: byId('unknown-note'),
  preview: byId('preview'),
  ask: byId<HTMLButtonElement>('ask'),
  vocab: byId('vocab'),
  vocabSize: byId('vocab-size'),
  answerCard: byId('answer-card'),
  answer: byId('answer'),
  confidence: byId('confidence'),
  expected: byId('expected'),
  alternatives: byId('alternatives'),
  attention: byId<HTMLOListElement>('attention'),
};

const rng = new Random(STORY_SEED);
let model: MemnetModel | null = null;
let vocabulary: Vocabulary | null = null;
let lastFocused: HTMLTextAreaElement | HTMLInputElement = el.story;

/** The story's sentences as typed (non-empty lines) and as tokens. */
function storyLines(): string[] {
  return el.story.value
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

/** True while the text is still the generated example, so its supporting facts apply. */
function exampleUnchanged(): boolean {
  const example = state.example;
  return example !== null && storyLines().join('\n') === example.sentences.join('\n') && el.question.value.trim() === example.question;
}

function showExample(example: ExampleStory): void {
  state.example = example;
  el.story.value = example.sentences.join('\n');
  el.question.value = example.question;
  check();
  ask();
}

function newStory(): void {
  const kind = STORY_KINDS.find((k) => String(k.task) === el.kind.value) ?? STORY_KINDS[0];
  if (kind) showExample(kind.make(rng));
}

/**
 * Flags words the model does not know (they would otherwise be silently meaningless to it). Returns
 * the tokenised question when it can be asked, else null.
 */
function check(): MemnetQuestion | null {
  el.story.rows = Math.max(MIN_STORY_ROWS, el.story.value.split('\n').length + 1);
  if (vocabulary === null) return null;
  const story = storyLines().map(tokenize);
  const question = tokenize(el.question.value);
  state.unknown = unknownWords({ story, question, answer: [], supportingFacts: [] }, vocabulary);
  el.preview.replaceChildren();
  const problems: string[] = [];
  if (story.length === 0) problems.push('The story is empty.');
  if (question.length === 0) problems.push('Ask a question.');
  if (state.unknown.length > 0) {
    problems.push(`Not in the model's vocabulary: ${state.unknown.map((w) => `“${w}”`).join(', ')}. Use other words (see the list below).`);
    const unknown = new Set(state.unknown);
    for (const line of [...storyLines(), el.question.value]) {
      const p = document.createElement('div');
      for (const part of line.split(/(\s+)/)) {
        const word = tokenize(part)[0];
        if (word !== undefined && unknown.has(word)) {
          const mark = document.createElement('mark');
          mark.className = 'unknown';
          mark.textContent = part;
          p.append(mark);
        } else p.append(part);
      }
      el.preview.append(p);
    }
  }
  el.unknownNote.textContent = problems.join(' ');
  el.unknownNote.className = problems.length > 0 ? 'small error' : 'small';
  el.ask.disabled = problems.length > 0;
  return problems.length === 0 ? { story, question } : null;
}

function ask(): void {
  const question = check();
  if (model === null || vocabulary === null || question === null) return;
  const [answer] = answerQuestions(model, vocabulary, [question]);
  if (answer === undefined) return;
  state.answer = answer;
  el.answerCard.classList.remove('stale');
  render(answer, storyLines());
}

function render(answer: MemnetAnswer, lines: readonly string[]): void {
  const words = vocabulary?.words ?? [];
  el.answer.textContent = answer.answer.replaceAll(',', ', ');
  el.answer.dataset.answer = answer.answer;
  el.confidence.textContent = `${(answer.probability * 100).toFixed(1)}% sure`;
  const known = exampleUnchanged() ? state.example : null;
  if (known) {
    const right = known.answer === answer.answer;
    el.expected.textContent = `Expected: ${known.answer} ${right ? '✓' : '✗'}`;
    el.expected.className = `small ${right ? 'good' : 'bad'}`;
  } else {
    el.expected.textContent = 'Your own story: no expected answer or supporting facts.';
    el.expected.className = 'small muted';
  }
  const ranked = Array.from(answer.distribution, (p, i) => ({ p, word: words[i] ?? '' }))
    .filter((r) => r.word !== answer.answer && r.word !== '<pad>')
    .sort((a, b) => b.p - a.p)
    .slice(0, ALTERNATIVES);
  el.alternatives.textContent = `Next: ${ranked.map((r) => `${r.word.replaceAll(',', ', ')} ${(r.p * 100).toFixed(1)}%`).join(' · ')}`;
  const support = new Set(known?.supportingFacts ?? []);
  const hops = answer.attention.length;
  el.attention.style.setProperty('--hops', String(hops));
  const header = document.createElement('li');
  header.className = 'header';
  header.append(span(''), span('sentence'), ...answer.attention.map((_, k) => span(`hop ${k + 1}`)));
  const rows = lines.map((line, i) => {
    const li = document.createElement('li');
    if (support.has(i)) li.classList.add('support');
    if (i < answer.firstInMemory) li.classList.add('forgotten');
    li.dataset.sentence = String(i);
    li.append(span(String(i + 1), 'index'), span(line));
    for (const hop of answer.attention) li.append(bar(hop[i] ?? 0));
    return li;
  });
  el.attention.replaceChildren(header, ...rows);
}

const span = (text: string, className?: string): HTMLSpanElement => {
  const s = document.createElement('span');
  s.textContent = text;
  if (className) s.className = className;
  return s;
};

/** One attention weight as a filled bar with its percentage. */
function bar(weight: number): HTMLDivElement {
  const div = document.createElement('div');
  div.className = 'bar';
  const alpha = Math.min(1, weight * 1.2);
  div.style.background = `linear-gradient(90deg, rgba(255,159,90,${0.25 + 0.75 * alpha}) ${weight * 100}%, #222634 ${weight * 100}%)`;
  div.title = `${(weight * 100).toFixed(1)}%`;
  div.append(span(weight >= 0.005 ? `${Math.round(weight * 100)}%` : ''));
  return div;
}

function insertWord(word: string): void {
  const field = lastFocused;
  const start = field.selectionStart ?? field.value.length;
  const end = field.selectionEnd ?? start;
  const before = field.value.slice(0, start);
  const text = `${before.length > 0 && !/\s$/.test(before) ? ' ' : ''}${word}`;
  field.setRangeText(text, start, end, 'end');
  field.focus();
  edited();
}

async function load(): Promise<void> {
  try {
    const loaded = memnetFromSafetensors(new Uint8Array(await fetchBytes(MODEL_PATH)), MODEL_PATH);
    model = loaded.model;
    vocabulary = loaded.vocabulary;
  } catch (error) {
    state.errors.push((error as Error).message);
    el.status.textContent = `Could not load the model: ${(error as Error).message}`;
    el.status.classList.add('error');
    return;
  }
  const { config } = model;
  state.backend = getDefaultBackend().description;
  el.status.textContent = `${config.hops} hops, ${config.embeddingSize}-d embeddings, memory of ${config.memorySize} sentences, ${vocabulary.size} words · ${state.backend}`;
  el.vocabSize.textContent = String(vocabulary.size - 1);
  el.vocab.replaceChildren(
    ...vocabulary.words
      .filter((w) => w !== '<pad>' && !w.includes(','))
      .map((word) => {
        const button = document.createElement('button');
        button.type = 'button';
        button.textContent = word;
        button.addEventListener('click', () => insertWord(word));
        return button;
      }),
  );
  state.loaded = true;
  document.body.dataset.ready = 'true';
  newStory();
}

for (const kind of STORY_KINDS) el.kind.add(new Option(kind.name, String(kind.task)));
el.kind.value = parameter('task', '1');
el.kind.addEventListener('change', newStory);
el.newStory.addEventListener('click', newStory);
el.ask.addEventListener('click', ask);
/** Edits make the shown answer out of date until the next Ask. */
function edited(): void {
  check();
  if (state.answer !== null && !el.answerCard.classList.contains('stale')) {
    el.answerCard.classList.add('stale');
    el.expected.textContent = 'The story or question changed: press Ask for a new answer.';
    el.expected.className = 'small muted';
  }
}

for (const field of [el.story, el.question]) {
  field.addEventListener('input', edited);
  field.addEventListener('focus', () => {
    lastFocused = field;
  });
}
el.question.addEventListener('keydown', (event) => {
  if (event.key === 'Enter') ask();
});
void load();
