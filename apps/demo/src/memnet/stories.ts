/**
 * Example stories in the style of five bAbI tasks (Weston et al. 2015), made up here from a seeded
 * generator with the words the pretrained model knows — the bAbI files themselves are not shipped.
 * Each story knows its answer and its supporting facts, as the bAbI simulator's do.
 */
import type { Random } from '@engram/tensor';

/** One example: sentences (oldest first), the question, the answer and the supporting facts. */
export interface ExampleStory {
  /** The bAbI task it imitates. */
  task: number;
  sentences: string[];
  question: string;
  answer: string;
  /** Indices into `sentences` of the facts the answer rests on. */
  supportingFacts: number[];
}

const PEOPLE = ['mary', 'john', 'sandra', 'daniel'] as const;
const PRONOUN: Record<(typeof PEOPLE)[number], 'he' | 'she'> = { mary: 'she', john: 'he', sandra: 'she', daniel: 'he' };
const PLACES = ['bathroom', 'bedroom', 'garden', 'hallway', 'kitchen', 'office'] as const;
const MOVES = ['moved to', 'went to', 'travelled to', 'journeyed to', 'went back to'] as const;
const OBJECTS = ['football', 'apple', 'milk'] as const;
const TAKES = ['got', 'grabbed', 'picked up', 'took'] as const;
const LINKS = ['After that', 'Following that', 'Then', 'Afterwards'] as const;
const ANIMALS = ['swan', 'lion', 'rhino', 'frog'] as const;
const NAMES = ['lily', 'bernhard', 'greg', 'brian', 'julius'] as const;
const COLOURS = ['white', 'gray', 'yellow', 'green'] as const;

const pick = <T>(rng: Random, items: readonly T[]): T => items[rng.int(0, items.length - 1)] as T;
const title = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1);

/** The five kinds of story on offer, by bAbI task number. */
export const STORY_KINDS: readonly { task: number; name: string; make: (rng: Random) => ExampleStory }[] = [
  { task: 1, name: 'Single supporting fact (task 1)', make: whereIsPerson },
  { task: 2, name: 'Two supporting facts (task 2)', make: whereIsObject },
  { task: 6, name: 'Yes / no questions (task 6)', make: yesNo },
  { task: 11, name: 'Basic coreference (task 11)', make: coreference },
  { task: 16, name: 'Basic induction (task 16)', make: induction },
];

/** People moving about; where each one went last, and in which sentence. */
function moves(rng: Random, count: number): { sentences: string[]; last: Map<string, { place: string; sentence: number }> } {
  const sentences: string[] = [];
  const last = new Map<string, { place: string; sentence: number }>();
  for (let i = 0; i < count; i++) {
    const person = pick(rng, PEOPLE);
    const place = pick(rng, PLACES);
    sentences.push(`${title(person)} ${pick(rng, MOVES)} the ${place}.`);
    last.set(person, { place, sentence: i });
  }
  return { sentences, last };
}

/** Task 1: where is a person? One supporting fact: where they went last. */
export function whereIsPerson(rng: Random): ExampleStory {
  const { sentences, last } = moves(rng, rng.int(4, 8));
  const person = pick(rng, [...last.keys()]);
  const fact = last.get(person) as { place: string; sentence: number };
  return { task: 1, sentences, question: `Where is ${title(person)}?`, answer: fact.place, supportingFacts: [fact.sentence] };
}

/** Task 6: is a person in a place? Yes or no from where they went last. */
export function yesNo(rng: Random): ExampleStory {
  const { sentences, last } = moves(rng, rng.int(4, 8));
  const person = pick(rng, [...last.keys()]);
  const fact = last.get(person) as { place: string; sentence: number };
  const asked =
    rng.next() < 0.5
      ? fact.place
      : pick(
          rng,
          PLACES.filter((p) => p !== fact.place),
        );
  return {
    task: 6,
    sentences,
    question: `Is ${title(person)} in the ${asked}?`,
    answer: asked === fact.place ? 'yes' : 'no',
    supportingFacts: [fact.sentence],
  };
}

/** Task 2: where is an object? Who took it, and where that person went afterwards. */
export function whereIsObject(rng: Random): ExampleStory {
  const { sentences } = moves(rng, rng.int(1, 3));
  const holder = pick(rng, PEOPLE);
  const object = pick(rng, OBJECTS);
  const others = PEOPLE.filter((p) => p !== holder);
  sentences.push(`${title(holder)} ${pick(rng, TAKES)} the ${object} there.`);
  const taken = sentences.length - 1;
  for (let i = rng.int(0, 2); i > 0; i--) sentences.push(`${title(pick(rng, others))} ${pick(rng, MOVES)} the ${pick(rng, PLACES)}.`);
  const place = pick(rng, PLACES);
  sentences.push(`${title(holder)} ${pick(rng, MOVES)} the ${place}.`);
  const moved = sentences.length - 1;
  for (let i = rng.int(0, 2); i > 0; i--) sentences.push(`${title(pick(rng, others))} ${pick(rng, MOVES)} the ${pick(rng, PLACES)}.`);
  return { task: 2, sentences, question: `Where is the ${object}?`, answer: place, supportingFacts: [taken, moved] };
}

/** Task 11: "he" and "she" refer to the person of the sentence before. */
export function coreference(rng: Random): ExampleStory {
  const sentences: string[] = [];
  const last = new Map<string, number[]>();
  const place = new Map<string, string>();
  // As in bAbI's task 11, every named sentence is followed by one with the pronoun.
  for (let pair = rng.int(2, 4); pair > 0; pair--) {
    const person = pick(rng, PEOPLE);
    sentences.push(`${title(person)} ${pick(rng, MOVES)} the ${pick(rng, PLACES)}.`);
    const second = pick(rng, PLACES);
    sentences.push(`${pick(rng, LINKS)} ${PRONOUN[person]} ${pick(rng, MOVES)} the ${second}.`);
    last.set(person, [sentences.length - 2, sentences.length - 1]);
    place.set(person, second);
  }
  const person = pick(rng, [...last.keys()]) as (typeof PEOPLE)[number];
  return { task: 11, sentences, question: `Where is ${title(person)}?`, answer: place.get(person) as string, supportingFacts: last.get(person) as number[] };
}

/** Task 16: the colour of an animal, induced from another of its kind. */
export function induction(rng: Random): ExampleStory {
  const names = [...NAMES].sort(() => rng.next() - 0.5);
  const kinds = [...ANIMALS].sort(() => rng.next() - 0.5).slice(0, 3);
  const colourOf = new Map<string, string>(kinds.map((k) => [k, pick(rng, COLOURS)]));
  const facts: { sentence: string; name: string; kind: boolean }[] = [];
  const kindOf = new Map<string, string>();
  const asked = names[4] as string;
  names.slice(0, 4).forEach((name, i) => {
    const kind = kinds[i % kinds.length] as string;
    kindOf.set(name, kind);
    facts.push({ sentence: `${title(name)} is a ${kind}.`, name, kind: true });
    facts.push({ sentence: `${title(name)} is ${colourOf.get(kind)}.`, name, kind: false });
  });
  const askedKind = kindOf.get(names[rng.int(0, 3)] as string) as string;
  // The witness: the last animal of that kind; the asked one is introduced at the end.
  const sentences = facts.map((f) => f.sentence);
  sentences.push(`${title(asked)} is a ${askedKind}.`);
  let witness = -1;
  facts.forEach((f, i) => {
    if (kindOf.get(f.name) === askedKind && !f.kind) witness = i;
  });
  return {
    task: 16,
    sentences,
    question: `What color is ${title(asked)}?`,
    answer: colourOf.get(askedKind) as string,
    supportingFacts: [witness - 1, witness, sentences.length - 1],
  };
}
