// Randomness: splittable keys and the distributions built on the randomBits primitive.

export type { Key } from './key.ts';
export { key, split, foldIn, constantKeyWords, MAX_FOLD_DATA } from './key.ts';
export { uniform, normal, bernoulli, randomInteger, permutation } from './distributions.ts';
export { randomBits } from '../primitives/random-bits.ts';
export { hashToUnit, hashWord, toKeyWord, KEY_WORDS } from './hash.ts';
export type { Observe } from './hash.ts';
export { cosineOfTurns } from './cosine.ts';
