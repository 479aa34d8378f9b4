/**
 * The training page's worker: reads the visitor's words into a corpus (the training words make the vocabulary, and
 * `<unk>` stands for validation words outside it), makes a MemN2N language model of the chosen sizes and trains it
 * with @engram/memnet's own loop (`trainMemnetLm`, {@link TRAINER_RECIPE}), reporting progress a few times a second
 * and, after each epoch, the validation perplexity and the model as a file. A pause keeps the loop's snapshot, so
 * training continues exactly where it stopped.
 */
import type { LmVocabulary } from '@engram/lm';
import { type MemnetLmSnapshot, type MemnetModel, createMemnet, memnetLmConfig, memnetLmToSafetensors, trainMemnetLm } from '@engram/memnet';
import { Random, countParameters, createCpuBackend, setDefaultBackend } from '@engram/tensor';
import { PROGRESS_MS, TRAINER_RECIPE, type TrainerReply, type TrainerRequest, type TrainerSizes } from './protocol.js';
import { bigramPerplexity, trainerCorpus } from './training-text.js';

const scope = self as unknown as {
  postMessage(message: TrainerReply, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<TrainerRequest>) => void) | null;
};
const post = (message: TrainerReply, transfer: Transferable[] = []): void => scope.postMessage(message, transfer);

setDefaultBackend(createCpuBackend());

/** A model being trained, its words, and where its training stands. */
interface Run {
  model: MemnetModel;
  vocabulary: LmVocabulary;
  train: Int32Array;
  valid: Int32Array;
  seed: number;
  /** The loop's snapshot at the last pause or epoch end (undefined before the first). */
  snapshot?: MemnetLmSnapshot;
  /** Whether the loop ended (finished or failed): nothing more to train. */
  ended: boolean;
}

let run: Run | null = null;
let running = false;
/** The run whose loop is going (a replaced run's loop may still be stopping). */
let looping: Run | null = null;

function start(train: string[], valid: string[], sizes: TrainerSizes, seed: number): Run {
  const corpus = trainerCorpus({ train, valid });
  const { vocabulary } = corpus;
  if (corpus.train.length <= sizes.memorySize + 1)
    throw new Error(`the text's training part has ${corpus.train.length} words: a memory of ${sizes.memorySize} needs more than ${sizes.memorySize + 1}`);
  if (corpus.valid.length < 2) throw new Error('the text is too short to hold out validation words: paste a longer one');
  const model = createMemnet(memnetLmConfig(vocabulary.size, sizes), new Random(seed));
  const created: Run = { model, vocabulary, train: corpus.train, valid: corpus.valid, seed, ended: false };
  post({
    type: 'started',
    started: {
      vocabulary: vocabulary.size,
      parameters: countParameters(model.params),
      trainWords: corpus.train.length,
      validWords: corpus.valid.length,
      unknownValid: corpus.unknownValid,
      bigram: bigramPerplexity(corpus.train, corpus.valid, vocabulary.size),
      stepsPerEpoch: Math.ceil(corpus.train.length / TRAINER_RECIPE.batch),
    },
  });
  return created;
}

/** Trains `current` while it is the run and `running` holds. */
async function loop(current: Run): Promise<void> {
  looping = current;
  let lastTime = performance.now();
  let lastTokens = current.snapshot?.training.tokens ?? 0;
  const outcome = await trainMemnetLm(
    current.model,
    { train: current.train, valid: current.valid },
    {
      recipe: TRAINER_RECIPE,
      seed: current.seed,
      ...(current.snapshot ? { resume: current.snapshot } : {}),
      checkpointEvery: Number.POSITIVE_INFINITY,
      shouldStop: () => !running || run !== current,
      onCheckpoint: (snapshot) => {
        current.snapshot = snapshot;
      },
      onStep: (r) => {
        const now = performance.now();
        if (now - lastTime < PROGRESS_MS) return;
        const wordsPerSecond = (r.tokens - lastTokens) / ((now - lastTime) / 1000);
        post({
          type: 'progress',
          progress: {
            step: r.step,
            epoch: r.epoch,
            fraction: (r.window + 1) / r.windows,
            perplexity: r.epochPerplexity,
            wordsPerSecond,
            learningRate: r.learningRate,
          },
        });
        lastTime = now;
        lastTokens = r.tokens;
      },
      onEpoch: (e) => {
        if (run !== current) return;
        const file = memnetLmToSafetensors(current.model, current.vocabulary, {
          trainedEpochs: String(e.epoch + 1),
          validPerplexity: String(e.validPerplexity),
          source: 'engram demo',
        });
        const bytes = file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer;
        post({ type: 'epoch', epoch: e.epoch, validPerplexity: e.validPerplexity, learningRate: e.learningRate, seconds: e.seconds, bytes }, [bytes]);
      },
    },
  );
  if (looping === current) looping = null;
  if (run !== current) return;
  if (outcome.kind === 'interrupted') {
    post({ type: 'paused' });
    // Asked to train again while the loop was stopping: continue.
    if (running) void guarded(() => loop(current));
    return;
  }
  current.ended = true;
  running = false;
  post(
    outcome.kind === 'finished'
      ? { type: 'ended', outcome: 'finished', message: 'finished: η fell below its floor or the last epoch ran' }
      : { type: 'ended', outcome: 'failed', message: `stopped: ${outcome.message}` },
  );
}

/** Runs a step, sending any error to the page. */
async function guarded(step: () => Promise<void> | void): Promise<void> {
  try {
    await step();
  } catch (error) {
    running = false;
    looping = null;
    post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
}

scope.onmessage = (event) => {
  const request = event.data;
  void guarded(() => {
    if (request.type === 'start') {
      running = false;
      run = null;
      run = start(request.train, request.valid, request.sizes, request.seed);
      return;
    }
    running = request.run && run !== null && !run.ended;
    // A run's loop stops between steps once paused or replaced; a new run's loop may start while an old one stops.
    if (running && run !== null && looping !== run) return loop(run);
  });
};
