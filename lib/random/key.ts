// Splittable keys, JAX style: a key is four 24-bit integers in a tensor of shape [4], exactly
// representable in float32, so a compiled function can take it as an input and a new key per
// call needs no recompile. There is no global state: every random value is a function of a key.
//
// Keys are derived with the same hash as the draws, on counters of their own (the `stream`,
// the counter's high word), so a derived key never repeats a draw of its parent:
//   stream 0            draws (randomBits, and everything built on it)
//   stream 1            split(key, n): word w of key j hashes index 4 j + w
//   stream 2            key(seed): word w hashes index w under the seed's raw words
//   stream 3 + data     foldIn(key, data): word w hashes index w
// A constant key (the usual case on the host) is derived in plain JS and gives constants, so
// chains of splits never grow a graph. Any other key (the input of a compiled function, say)
// is derived in the graph, by randomBits and floor, to the same values.

import type { Tensor } from '../tensor.ts';
import { tensor } from '../constants.ts';
import { constantDataOf } from '../primitives/constant.ts';
import { floor } from '../primitives/floor.ts';
import { mul } from '../primitives/mul.ts';
import { randomBits } from '../primitives/random-bits.ts';
import { reshape } from '../primitives/reshape.ts';
import { slice } from '../primitives/slice.ts';
import { hashWord, KEY_WORDS, toKeyWord, WORD } from './hash.ts';

export type Key = Tensor<readonly [4]>;

export const DRAW_STREAM = 0;
export const SPLIT_STREAM = 1;
export const SEED_STREAM = 2;
export const FOLD_STREAM = 3;

/** The words of a constant key, or undefined when the key is computed in a graph. */
export const constantKeyWords = (key: Key): number[] | undefined => {
  const data = constantDataOf(key);
  return data === undefined ? undefined : Array.from(data, toKeyWord);
};

const keyFromWords = (words: readonly number[]): Key => tensor(words, [KEY_WORDS]);

/** `count` keys hashed from `key` at indices first * 4 ... on `stream`: in JS for a constant key, else in the graph. */
const deriveKeys = (key: Key, count: number, stream: number): Key[] => {
  const words = constantKeyWords(key);
  if (words !== undefined)
    return Array.from({ length: count }, (_, j) =>
      keyFromWords(Array.from({ length: KEY_WORDS }, (_, w) => hashWord(words, j * KEY_WORDS + w, stream))),
    );
  // k / 2^24 times 2^24 is k exactly, in float32 as in float64; floor only states the intent.
  const derived = floor(mul(randomBits(key, [count, KEY_WORDS], stream), WORD));
  return Array.from({ length: count }, (_, j) => reshape(slice(derived, [{ start: j, stop: j + 1 }, undefined]), [KEY_WORDS]));
};

/**
 * `key(seed)`: the key of an integer seed (any safe integer, negative too). The seed's raw
 * words (magnitude in 24-bit pieces and the sign) are hashed, so nearby seeds give unrelated keys.
 */
export const key = (seed: number): Key => {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`key: the seed ${seed} is not a safe integer`);
  const magnitude = Math.abs(seed);
  const raw = [magnitude % WORD, Math.floor(magnitude / WORD) % WORD, Math.floor(magnitude / WORD / WORD), seed < 0 ? 1 : 0];
  return keyFromWords(Array.from({ length: KEY_WORDS }, (_, w) => hashWord(raw, w, SEED_STREAM)));
};

/** `split(key, n = 2)`: n new keys, independent of each other and of draws from `key`. */
export const split = (key: Key, n = 2): Key[] => {
  if (!Number.isInteger(n) || n < 1 || n * KEY_WORDS > WORD) throw new RangeError(`split: n = ${n} is not an integer in [1, 2^22]`);
  return deriveKeys(key, n, SPLIT_STREAM);
};

/** The largest `data` that foldIn takes: the stream is 3 + data, a 24-bit word. */
export const MAX_FOLD_DATA = WORD - FOLD_STREAM - 1;

/**
 * `foldIn(key, data)`: the key for `data` (a step, an epoch, a worker), an integer in
 * [0, 2^24 - 4]. Different data give independent keys, and none equals a key from split.
 */
export const foldIn = (key: Key, data: number): Key => {
  if (!Number.isInteger(data) || data < 0 || data > MAX_FOLD_DATA)
    throw new RangeError(`foldIn: data ${data} is not an integer in [0, ${MAX_FOLD_DATA}]`);
  return deriveKeys(key, 1, FOLD_STREAM + data)[0];
};
