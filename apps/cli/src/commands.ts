/**
 * The options of the NTM and memory-network commands, one table each: the parser and each command's
 * `--help` both read them (the language-model commands' tables are in `lm.ts`).
 */
import { ALGORITHMIC_TASKS } from '@engram/datasets';
import type { OptionSpec } from './option-table.js';

const positive = { min: 1, max: 1e9 } as const;

/** `engram train ntm`: defaults are the paper's model and optimizer. */
export const TRAIN_NTM_OPTIONS: readonly OptionSpec[] = [
  { name: 'task', type: 'choice', choices: Object.keys(ALGORITHMIC_TASKS), default: 'copy', help: 'the algorithmic task' },
  { name: 'out', type: 'string', value: 'DIR', help: 'run folder (default runs/<task>)' },
  { name: 'seed', type: 'integer', value: 'N', default: 1, min: 0, max: 2 ** 31 - 1, help: 'every random choice follows it' },
  { name: 'batch', type: 'integer', value: 'N', default: 1, min: 1, max: 4096, help: 'sequences per step' },
  {
    name: 'threads',
    type: 'integer',
    value: 'N',
    min: 1,
    max: 64,
    help: "threads that share each step's sequences, this one included (default: every core; at most --batch; give the same count to --resume bit for bit)",
  },
  { name: 'optimizer', type: 'choice', choices: ['rmsprop', 'adam'], default: 'rmsprop', help: 'rmsprop (which one: --rmsprop) or adam' },
  { name: 'lr', type: 'number', value: 'X', min: 1e-12, max: 10, help: 'learning rate (default 1e-4 for rmsprop, 1e-3 for adam)' },
  {
    name: 'rmsprop',
    type: 'choice',
    choices: ['graves', 'tensorflow'],
    default: 'graves',
    help: "graves: momentum 0.9, decay 0.95, centered, ε 1e-4 (the NTM paper's); tensorflow: decay 0.9, ε 1e-10 (deepmind/dnc's)",
  },
  { name: 'clip-value', type: 'number', value: 'X', default: 10, min: 0, max: 1e9, help: 'clip each gradient element (0: off)' },
  { name: 'clip-norm', type: 'number', value: 'X', default: 0, min: 0, max: 1e9, help: 'clip the global gradient norm (0: off)' },
  { name: 'curriculum', type: 'flag', help: 'start on short sequences and lengthen them as the error falls' },
  { name: 'until', type: 'number', value: 'BITS', default: 0.01, min: 0, max: 1e6, help: 'stop below this many error bits per sequence on held-out sequences' },
  { name: 'stable', type: 'integer', value: 'N', default: 3, ...positive, help: '…on N evaluations in a row' },
  { name: 'max-sequences', type: 'integer', value: 'N', ...positive, help: 'stop after N training sequences' },
  { name: 'time-limit', type: 'number', value: 'SECONDS', min: 1, max: 1e9, help: 'stop after this much training time' },
  { name: 'eval-every', type: 'integer', value: 'N', default: 1000, ...positive, help: 'evaluate every N training sequences' },
  { name: 'eval-size', type: 'integer', value: 'N', default: 1000, min: 1, max: 1e6, help: 'held-out sequences per evaluation' },
  { name: 'checkpoint-every', type: 'integer', value: 'N', default: 1000, ...positive, help: 'checkpoint every N training sequences (and on Ctrl-C)' },
  { name: 'resume', type: 'flag', help: 'continue DIR/checkpoint.safetensors exactly where it stopped' },
  { name: 'overwrite', type: 'flag', help: 'start afresh in a run folder that already holds a checkpoint' },
  { name: 'hidden', type: 'integer', value: 'N', default: 100, min: 1, max: 4096, help: 'controller units' },
  { name: 'layers', type: 'integer', value: 'N', default: 1, min: 1, max: 16, help: 'controller layers' },
  { name: 'controller', type: 'choice', choices: ['lstm', 'gru', 'feedforward'], default: 'lstm', help: 'the controller network' },
  { name: 'memory', type: 'string', value: 'NxM', default: '128x20', help: 'memory slots × width (each 1–65536)' },
  { name: 'read-heads', type: 'integer', value: 'N', default: 1, min: 1, max: 64, help: 'read heads' },
  { name: 'write-heads', type: 'integer', value: 'N', default: 1, min: 0, max: 64, help: 'write heads' },
  { name: 'max-length', type: 'integer', value: 'N', min: 1, max: 10_000, help: 'longest training sequence for copy-like tasks' },
  { name: 'task-options', type: 'string', value: 'K=N,…', help: 'any task option, e.g. width=4,maxLength=2,maxRepeats=2' },
];

/** A copy of a table with some options changed (another model's defaults), each change naming an existing option. */
function withChanges(specs: readonly OptionSpec[], changes: Record<string, Partial<OptionSpec>>): OptionSpec[] {
  for (const name of Object.keys(changes)) if (!specs.some((s) => s.name === name)) throw new Error(`withChanges: no option --${name}`);
  return specs.map((s) => (Object.hasOwn(changes, s.name) ? { ...s, ...changes[s.name] } : s));
}

/** `engram train dnc`: the same options as the NTM's, with deepmind/dnc's training script as the defaults. */
export const TRAIN_DNC_OPTIONS: readonly OptionSpec[] = withChanges(TRAIN_NTM_OPTIONS, {
  task: {
    choices: [...Object.keys(ALGORITHMIC_TASKS), 'babi'],
    help: 'the algorithmic task, or babi: the 20 bAbI tasks at once (its own options: engram train dnc --task babi --help)',
  },
  batch: { default: 16 },
  rmsprop: { default: 'tensorflow' },
  lr: { help: 'learning rate (default 1e-4 for rmsprop, 1e-3 for adam)' },
  'clip-value': { default: 0 },
  'clip-norm': { default: 50 },
  hidden: { default: 64 },
  memory: { default: '16x16', help: 'memory locations × word width (N 1–4096, W 1–4096)' },
  'read-heads': { default: 4 },
  'write-heads': { min: 1 },
});

/** `engram train memnet`: defaults are the official code's. */
export const TRAIN_MEMNET_OPTIONS: readonly OptionSpec[] = [
  { name: 'task', type: 'integer', value: 'N', min: 1, max: 20, help: 'one bAbI task (default 1)' },
  { name: 'tasks', type: 'string', value: 'N,N', help: 'several bAbI tasks in one model, e.g. 1,2,3' },
  { name: 'joint', type: 'flag', help: 'all 20 tasks in one model' },
  { name: 'data', type: 'string', value: 'DIR', default: 'data/babi', help: 'folder holding en/ and en-10k/' },
  { name: '10k', type: 'flag', help: 'train on the 10k sets' },
  { name: 'out', type: 'string', value: 'DIR', help: 'run folder (default runs/memnet-task<N> or runs/memnet-joint)' },
  { name: 'seed', type: 'integer', value: 'N', default: 1, min: 0, max: 2 ** 31 - 1, help: 'every random choice follows it' },
  { name: 'embedding', type: 'integer', value: 'N', min: 1, max: 4096, help: 'embedding width d (default 20 per task, 50 joint)' },
  { name: 'hops', type: 'integer', value: 'N', default: 3, min: 1, max: 32, help: 'memory hops' },
  {
    name: 'encoding',
    type: 'choice',
    choices: ['position', 'position-paper', 'bag-of-words'],
    default: 'position',
    help: "sentence encoding (the official code's position encoding by default)",
  },
  {
    name: 'empty-slots',
    type: 'choice',
    choices: ['attend', 'mask'],
    default: 'attend',
    help: 'empty memory slots take part in the attention (official code) or not',
  },
  { name: 'epochs', type: 'integer', value: 'N', min: 1, max: 100_000, help: 'epochs of the main phase' },
  { name: 'linear-start', type: 'integer', value: 'N', min: 0, max: 100_000, help: 'linear-start epochs (0: off)' },
  { name: 'lr', type: 'number', value: 'X', min: 1e-12, max: 10, help: 'learning rate' },
  { name: 'batch', type: 'integer', value: 'N', min: 1, max: 4096, help: 'examples per batch (default 32)' },
  { name: 'no-time-noise', type: 'flag', help: 'no random empty memories in training' },
  {
    name: 'clipping',
    type: 'choice',
    choices: ['per-parameter', 'global'],
    default: 'per-parameter',
    help: "clip each weight matrix's gradient norm (official code) or all at once",
  },
  { name: 'validation', type: 'number', value: 'X', default: 0.1, min: 0, max: 0.9, help: 'fraction of the training questions held out' },
  { name: 'resume', type: 'flag', help: 'continue the run exactly where it stopped' },
];

/** `engram eval` for an NTM or a memory network. */
export const EVAL_OPTIONS: readonly OptionSpec[] = [
  { name: 'run', type: 'string', value: 'DIR', default: 'runs/copy', help: 'the run folder (or a model .safetensors file)' },
  {
    name: 'data',
    type: 'string',
    value: 'DIR',
    default: 'data/babi',
    help: "bAbI folder for memory networks; PTB folder for a language model (for it the default is its run's data folder, else data/ptb)",
  },
  {
    name: 'lengths',
    type: 'string',
    value: 'LIST',
    default: '1-20,30,50,80,120',
    help: 'NTM/DNC: sequence lengths and ranges to score (associative recall: item counts)',
  },
  {
    name: 'repeats',
    type: 'string',
    value: 'LIST',
    help: 'repeat copy: repeat counts and ranges to score, at the trained lengths (e.g. 1-10,12,15,20)',
  },
  { name: 'sequences', type: 'integer', value: 'N', default: 1000, min: 1, max: 1e7, help: 'NTM: fresh sequences per row' },
  { name: 'seed', type: 'integer', value: 'N', default: 7, min: 0, max: 2 ** 31 - 1, help: 'NTM: seed of the fresh sequences' },
  { name: 'batch', type: 'integer', value: 'N', default: 50, min: 1, max: 4096, help: 'NTM: sequences evaluated at once' },
];

/** `engram show`. */
export const SHOW_OPTIONS: readonly OptionSpec[] = [
  { name: 'run', type: 'string', value: 'DIR', default: 'runs/copy', help: 'the run folder (or a model .safetensors file)' },
  { name: 'length', type: 'integer', value: 'N', min: 1, max: 10_000, help: 'sequence length (copy-like tasks)' },
  { name: 'seed', type: 'integer', value: 'N', default: 3, min: 0, max: 2 ** 31 - 1, help: 'seed of the sequence' },
  { name: 'out', type: 'string', value: 'FILE.svg', help: 'the figure (default DIR/show.svg)' },
];

/** `engram ask`. */
export const ASK_OPTIONS: readonly OptionSpec[] = [
  { name: 'run', type: 'string', value: 'DIR', default: 'runs/memnet-task1', help: 'the memory-network run folder (or model file)' },
  { name: 'story', type: 'string', value: 'TEXT', help: 'the story, sentences ending in . (with --question)' },
  { name: 'question', type: 'string', value: 'TEXT', help: 'the question (with --story)' },
  { name: 'task', type: 'integer', value: 'N', default: 1, min: 1, max: 20, help: 'a bAbI test story of this task (with --example)' },
  { name: 'example', type: 'integer', value: 'N', default: 0, min: 0, max: 1e6, help: 'which test story' },
  { name: 'data', type: 'string', value: 'DIR', default: 'data/babi', help: 'bAbI folder' },
];

/** `engram download babi|ptb`. */
export const DOWNLOAD_OPTIONS: readonly OptionSpec[] = [
  { name: 'to', type: 'string', value: 'DIR', help: 'destination (default data/babi or data/ptb)' },
  { name: 'url', type: 'string', value: 'URL', help: 'an archive or folder URL to fetch from instead of the default' },
];
