import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tokenize } from '@engram/datasets';
import { answerQuestions, memnetFromSafetensors, unknownWords } from '@engram/memnet';
import { Random } from '@engram/tensor';
import { describe, expect, it } from 'vitest';
import { STORY_KINDS } from './stories.js';

const MODEL = join(import.meta.dirname, '..', '..', 'public', 'models', 'babi-joint.safetensors');
const { model, vocabulary } = memnetFromSafetensors(new Uint8Array(readFileSync(MODEL)), MODEL);
const STORIES_PER_KIND = 40;

describe('example stories', () => {
  it('are seeded', () => {
    for (const kind of STORY_KINDS) expect(kind.make(new Random(3))).toEqual(kind.make(new Random(3)));
  });

  // The shipped model was trained on the real bAbI data: if the made-up stories, answers or
  // supporting facts did not follow the tasks' rules, it would not get them right.
  it.each(STORY_KINDS.map((k) => [k.name, k] as const))('%s: only known words, and the shipped model answers them', (_, kind) => {
    const rng = new Random(kind.task);
    const stories = Array.from({ length: STORIES_PER_KIND }, () => kind.make(rng));
    const questions = stories.map((s) => ({ story: s.sentences.map(tokenize), question: tokenize(s.question) }));
    for (const [i, s] of stories.entries()) {
      expect(unknownWords({ ...questions[i], answer: [s.answer], supportingFacts: [] } as never, vocabulary)).toEqual([]);
      for (const fact of s.supportingFacts) expect(fact).toBeLessThan(s.sentences.length);
    }
    const answers = answerQuestions(model, vocabulary, questions);
    const right = answers.filter((a, i) => a.answer === stories[i]?.answer).length;
    // The joint model's test error on these tasks is 0–10.5% (docs/results/memnet.md).
    expect(right / STORIES_PER_KIND).toBeGreaterThanOrEqual(0.85);
    // Its last hop looks hardest at a supporting fact most of the time.
    const onSupport = answers.filter((a, i) => {
      const last = a.attention.at(-1) ?? [];
      return stories[i]?.supportingFacts.includes(last.indexOf(Math.max(...last)));
    }).length;
    expect(onSupport / STORIES_PER_KIND).toBeGreaterThanOrEqual(0.8);
  });
});
