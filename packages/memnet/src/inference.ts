import type { BabiExample, Vocabulary } from '@engram/datasets';
import { EngramError, noGrad, softmax } from '@engram/tensor';
import { encodeBatch, unknownWords } from './encoding.js';
import { type MemnetModel, memnetForward } from './model.js';

/** A question to answer: a story (tokenised sentences, oldest first) and the question's tokens (a `BabiExample` is one). */
export type MemnetQuestion = Pick<BabiExample, 'story' | 'question'>;

/** The model's answer to one question, with what it looked at. */
export interface MemnetAnswer {
  /** The most probable answer word (an answer token such as `n,w` for multi-word answers). */
  answer: string;
  /** Its probability. */
  probability: number;
  /** â = softmax(W u^{K+1}) over the whole vocabulary, indexed like the vocabulary. */
  distribution: Float32Array;
  /**
   * `attention[k][i]`: hop k's weight p_i^k on story sentence i. Sentences older than the memory
   * (before {@link MemnetAnswer.firstInMemory}) have weight 0.
   */
  attention: number[][];
  /** Index of the oldest story sentence that was in memory. */
  firstInMemory: number;
}

/**
 * Answers questions and returns each hop's attention over the story's sentences, so one can see
 * which facts the model used (compare with the bAbI supporting facts). Words the model does not
 * know are an error that lists them (see `unknownWords`).
 * @param model - the memory network
 * @param vocabulary - the model's vocabulary
 * @param questions - each a story (sentences of words) and a question
 * @example
 * ```ts
 * const [reply] = answerQuestions(model, vocabulary, [
 *   { story: [['mary', 'moved', 'to', 'the', 'bathroom'], ['john', 'went', 'to', 'the', 'hallway']], question: ['where', 'is', 'mary'] },
 * ]);
 * console.log(reply?.answer, reply?.attention); // 'bathroom', each hop's weights over the two sentences
 * ```
 */
export function answerQuestions(model: MemnetModel, vocabulary: Vocabulary, questions: readonly MemnetQuestion[]): MemnetAnswer[] {
  if (questions.length === 0) return [];
  // Questions to answer carry no answer: encodeBatch gives them the label −1.
  const examples: BabiExample[] = questions.map((q) => ({ story: q.story, question: q.question, answer: [], supportingFacts: [] }));
  examples.forEach((e, i) => {
    const unknown = unknownWords(e, vocabulary);
    if (unknown.length > 0)
      throw new EngramError(`answerQuestions: question ${i} has words the model does not know: ${unknown.map((w) => `'${w}'`).join(', ')}`);
  });
  const batch = encodeBatch(examples, vocabulary, model.config);
  return noGrad(() => {
    const { logits, attention } = memnetForward(model, batch);
    const probabilities = softmax(logits, -1).dataSync();
    const hops = attention.map((p) => p.dataSync());
    const classes = vocabulary.size;
    return examples.map((example, b) => {
      const distribution = probabilities.slice(b * classes, (b + 1) * classes);
      let best = 1;
      for (let c = 2; c < classes; c++) if ((distribution[c] as number) > (distribution[best] as number)) best = c;
      const first = batch.firstSentence[b] as number;
      const attentionOverStory = hops.map((p) => {
        const row = new Array<number>(example.story.length).fill(0);
        for (let i = 0; i < (batch.sentences[b] as number); i++) row[first + i] = p[b * batch.slots + i] as number;
        return row;
      });
      return {
        answer: vocabulary.words[best] as string,
        probability: distribution[best] as number,
        distribution,
        attention: attentionOverStory,
        firstInMemory: first,
      };
    });
  });
}
