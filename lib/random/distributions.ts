// Distributions built on the one random primitive. Each is a graph, so it runs in the
// interpreter and, compiled, in a kernel; the uniform bits agree bit for bit between the two,
// and what is computed from them (a logarithm, a square root) agrees to float32 rounding.

import { formatShape, type Shape, sizeOf } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { tensor } from '../constants.ts';
import { interpret } from '../interpret.ts';
import { add } from '../primitives/add.ts';
import type { Operand } from '../primitives/elementwise.ts';
import { floor } from '../primitives/floor.ts';
import { less } from '../primitives/less.ts';
import { log } from '../primitives/log.ts';
import { minimum } from '../primitives/minimum.ts';
import { mul } from '../primitives/mul.ts';
import { randomBits } from '../primitives/random-bits.ts';
import { reshape } from '../primitives/reshape.ts';
import { slice } from '../primitives/slice.ts';
import { sqrt } from '../primitives/sqrt.ts';
import { sub } from '../primitives/sub.ts';
import { cosineOfTurns } from './cosine.ts';
import { hashWord, toKeyWord, WORD } from './hash.ts';
import { constantKeyWords, DRAW_STREAM, type Key } from './key.ts';

/** Applies `low + (high - low) * x` without nodes for the identity case; keeps x's shape. */
const affine = <S extends Shape>(x: Tensor<S>, offset: Operand, scale: Operand): Tensor<S> => {
  const scaled = scale === 1 ? (x as Tensor) : mul(x as Tensor, scale);
  const shifted = offset === 0 ? scaled : add(scaled, offset);
  if (shifted.rank !== x.rank || shifted.size !== x.size)
    throw new RangeError(`random: parameters of shapes that broadcast beyond ${formatShape(x.shape)} would change the sample's shape`);
  return shifted as Tensor<S>;
};

/** `uniform(key, shape, low = 0, high = 1)`: uniform in [low, high), 24 bits of resolution. */
export const uniform = <const S extends Shape>(key: Key, shape: S, low: Operand = 0, high: Operand = 1): Tensor<S> =>
  affine(randomBits(key, shape), low, typeof low === 'number' && typeof high === 'number' ? high - low : sub(high as Tensor, low as Tensor));

/**
 * `normal(key, shape, mean = 0, std = 1)`: Box-Muller, z = sqrt(-2 log(1 - u1)) cos(2 pi u2),
 * one sample per pair of uniforms. 1 - u1 lies in [2^-24, 1], so the logarithm is finite; the
 * price is tails cut at sqrt(48 log 2) = 5.77 standard deviations (probability 8e-9).
 */
export const normal = <const S extends Shape>(key: Key, shape: S, mean: Operand = 0, std: Operand = 1): Tensor<S> => {
  const count = sizeOf(shape);
  const uniforms = randomBits(key, [2, count]);
  const u1 = reshape(slice(uniforms, [{ start: 0, stop: 1 }, undefined]), shape);
  const u2 = reshape(slice(uniforms, [{ start: 1, stop: 2 }, undefined]), shape);
  const radius = sqrt(mul(log(sub(1, u1 as Tensor)), -2));
  return affine(mul(radius, cosineOfTurns(u2 as Tensor)) as Tensor<S>, mean, std);
};

/** `bernoulli(key, shape, p = 0.5)`: 1 with probability p, else 0 (exactly p when p is a multiple of 2^-24). */
export const bernoulli = <const S extends Shape>(key: Key, shape: S, p: Operand = 0.5): Tensor<S> => {
  const draw = less(randomBits(key, shape) as Tensor, p);
  if (draw.rank !== shape.length || draw.size !== sizeOf(shape))
    throw new RangeError(`bernoulli: p broadcasts beyond ${formatShape(shape)}`);
  return draw as Tensor<S>;
};

/**
 * `randomInteger(key, shape, low, high)`: integers in [low, high), as floor(low + u (high - low)).
 * Exactly uniform when high - low divides 2^24; otherwise off by at most (high - low) / 2^24
 * relative. The minimum guards the top against a float32 product that rounds up to high - low.
 */
export const randomInteger = <const S extends Shape>(key: Key, shape: S, low: number, high: number): Tensor<S> => {
  const range = high - low;
  if (!Number.isInteger(low) || !Number.isInteger(high) || range < 1 || range > WORD)
    throw new RangeError(`randomInteger: [${low}, ${high}) is not a range of 1 to 2^24 integers`);
  const offsets = minimum(floor(mul(randomBits(key, shape) as Tensor, range)), range - 1);
  return (low === 0 ? offsets : add(offsets, low)) as Tensor<S>;
};

/**
 * `permutation(key, n)`: a random ordering of 0 ... n-1, as a constant tensor. It is the
 * argsort of `randomBits(key, [n])` (ties broken by index), computed on the host: the language
 * has no sort primitive, and a permutation is what the host uses to shuffle a data set between
 * epochs. A key computed in a graph is evaluated first (it must not depend on an input).
 */
export const permutation = <const N extends number>(key: Key, n: N): Tensor<[N]> => {
  if (!Number.isInteger(n) || n < 0 || n > WORD) throw new RangeError(`permutation: n = ${n} is not an integer in [0, 2^24]`);
  const words = constantKeyWords(key) ?? Array.from(interpret(key).data, toKeyWord);
  const values = Float64Array.from({ length: n }, (_, i) => hashWord(words, i, DRAW_STREAM));
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b] || a - b);
  return tensor(order, [n] as [N]);
};
