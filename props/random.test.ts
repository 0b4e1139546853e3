// Randomness: determinism, statistical quality, key derivation, the distributions, and the
// property that makes compiled kernels agree with the interpreter: every intermediate value of
// the hash is an integer below 2^24, so float32 computes it exactly.
//
// Statistical bounds are five standard errors (or a chi-square quantile near p = 0.001): a
// sound generator passes them with room to spare; a biased or correlated one does not.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GPU } from 'gpu.js';
import {
  add, checkGrad, grad, interpret, mul, reshape, ShapeError, sum, tensor, type Tensor,
} from '../lib/index.ts';
import { addWords, middleSquare, ROUND_CONSTANTS, ROUNDS } from '../lib/random/hash.ts';
import {
  bernoulli, constantKeyWords, cosineOfTurns, foldIn, hashToUnit, hashWord, key, type Key, normal, permutation,
  randomBits, randomInteger, split, toKeyWord, uniform,
} from '../lib/random/index.ts';
import { gradientCases } from './gradient-cases.ts';
import { runs } from './runs.ts';

const SAMPLES = 100_000;
const WORD = 2 ** 24;
/** The chi-square quantile at p = 0.001 for 15 degrees of freedom (16 bins). */
const CHI_SQUARE_15_AT_0_001 = 37.7;

const values = (t: Tensor): Float64Array => interpret(t).data;

const meanOf = (xs: ArrayLike<number>): number => {
  let total = 0;
  for (let i = 0; i < xs.length; i++) total += xs[i];
  return total / xs.length;
};

const varianceOf = (xs: ArrayLike<number>): number => {
  const m = meanOf(xs);
  let total = 0;
  for (let i = 0; i < xs.length; i++) total += (xs[i] - m) ** 2;
  return total / xs.length;
};

const correlation = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  const ma = meanOf(a);
  const mb = meanOf(b);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) ** 2;
    bb += (b[i] - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
};

/** Pearson's chi-square of the counts of `bin(x)` over `bins` equally likely bins. */
const chiSquare = (xs: ArrayLike<number>, bins: number, bin: (x: number) => number): number => {
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < xs.length; i++) counts[bin(xs[i])]++;
  const expected = xs.length / bins;
  return counts.reduce((total, c) => total + (c - expected) ** 2 / expected, 0);
};

const lagOneCorrelation = (xs: Float64Array): number => correlation(xs.subarray(0, xs.length - 1), xs.subarray(1));

/** Five standard errors of a correlation between independent samples. */
const CORRELATION_BOUND = 5 / Math.sqrt(SAMPLES);

const assertUniformUnit = (xs: Float64Array, label: string) => {
  // Mean 1/2 (standard error sqrt(1/12 / n)) and variance 1/12 (standard error sqrt(1/180 / n)).
  assert.ok(Math.abs(meanOf(xs) - 0.5) < 5 * Math.sqrt(1 / 12 / xs.length), `${label}: mean ${meanOf(xs)}`);
  assert.ok(Math.abs(varianceOf(xs) - 1 / 12) < 5 * Math.sqrt(1 / 180 / xs.length), `${label}: variance ${varianceOf(xs)}`);
  const coarse = chiSquare(xs, 16, (x) => Math.floor(x * 16));
  assert.ok(coarse < CHI_SQUARE_15_AT_0_001, `${label}: chi-square over 16 bins ${coarse}`);
  // The lowest 4 of the 24 bits: a weak hash shows its bias here first.
  const fine = chiSquare(xs, 16, (x) => (x * WORD) % 16);
  assert.ok(fine < CHI_SQUARE_15_AT_0_001, `${label}: chi-square of the low 4 bits ${fine}`);
  const lag = lagOneCorrelation(xs);
  assert.ok(Math.abs(lag) < CORRELATION_BOUND, `${label}: lag-1 correlation ${lag}`);
};

test('the same key gives the same numbers: built twice, interpreted twice, and as the pure hash', () => {
  const first = values(uniform(key(42), [1000]));
  const again = values(uniform(key(42), [1000]));
  assert.deepEqual(again, first);
  const draw = uniform(key(42), [1000]);
  assert.deepEqual(values(draw), values(draw));
  const words = constantKeyWords(key(42))!;
  assert.deepEqual(first, Float64Array.from({ length: 1000 }, (_, i) => hashToUnit(words, i)));
  // An element depends on its index alone, not on the size of the draw.
  assert.deepEqual(values(uniform(key(42), [10])), first.subarray(0, 10));
  assert.deepEqual(values(uniform(key(42), [10, 100])), first);
});

test('draws are multiples of 2^-24 in [0, 1), and uniform(low, high) stays in [low, high)', () => {
  const xs = values(randomBits(key(1), [10_000]));
  for (const x of xs) assert.ok(x >= 0 && x < 1 && Number.isInteger(x * WORD), `${x}`);
  const scaled = values(uniform(key(1), [10_000], -3, 5));
  for (const x of scaled) assert.ok(x >= -3 && x < 5, `${x}`);
  const perRow = values(uniform(key(1), [2, 1000], tensor([[0], [10]], [2, 1]), tensor([[1], [20]], [2, 1])));
  for (let i = 0; i < 1000; i++) assert.ok(perRow[i] < 1 && perRow[1000 + i] >= 10, 'rows take their own bounds');
});

test('uniform numbers pass mean, variance, chi-square (coarse and low bits) and lag-1 correlation, for several keys', () => {
  assertUniformUnit(values(uniform(key(0), [SAMPLES])), 'key(0)');
  assertUniformUnit(values(uniform(key(123456789), [SAMPLES])), 'key(123456789)');
  // A raw key of small words is the hardest case for a weak mixer.
  assertUniformUnit(values(randomBits(tensor([0, 0, 0, 0], [4]), [SAMPLES])), 'the all-zero key');
  assertUniformUnit(values(uniform(split(key(7))[1], [SAMPLES])), 'a split key');
});

test('different keys, split keys, folded-in keys and parent and child draw uncorrelated numbers', () => {
  const root = key(0);
  const [a, b] = split(root);
  const streams: [string, Key][] = [
    ['key(0)', root],
    ['key(1)', key(1)],
    ['split a', a],
    ['split b', b],
    ['foldIn 0', foldIn(root, 0)],
    ['foldIn 1', foldIn(root, 1)],
    ['raw [0,0,0,0]', tensor([0, 0, 0, 0], [4])],
    ['raw [1,0,0,0]', tensor([1, 0, 0, 0], [4])],
  ];
  const draws = streams.map(([, k]) => values(uniform(k, [SAMPLES])));
  for (let i = 0; i < draws.length; i++)
    for (let j = i + 1; j < draws.length; j++) {
      const r = correlation(draws[i], draws[j]);
      assert.ok(Math.abs(r) < CORRELATION_BOUND, `${streams[i][0]} and ${streams[j][0]}: correlation ${r}`);
      // Shifted by one index too: a key that only offsets the counter would correlate here.
      const shifted = correlation(draws[i].subarray(1), draws[j].subarray(0, SAMPLES - 1));
      assert.ok(Math.abs(shifted) < CORRELATION_BOUND, `${streams[i][0]} and ${streams[j][0]} shifted: ${shifted}`);
    }
});

test('key, split and foldIn give distinct keys of 24-bit integer words; bad arguments are refused', () => {
  const keys = [key(0), key(1), key(-1), key(2 ** 40), key(Number.MAX_SAFE_INTEGER), ...split(key(0), 5), foldIn(key(0), 0), foldIn(key(0), 1)];
  const words = keys.map((k) => Array.from(values(k)));
  for (const w of words) for (const x of w) assert.ok(Number.isInteger(x) && x >= 0 && x < WORD, `${x}`);
  assert.equal(new Set(words.map((w) => w.join(','))).size, keys.length, 'all keys differ');
  assert.deepEqual(values(key(-0)), values(key(0)));
  assert.notDeepEqual(values(split(key(0))[0]), values(split(key(1))[0]));
  assert.throws(() => key(0.5), RangeError);
  assert.throws(() => key(2 ** 53), RangeError);
  assert.throws(() => split(key(0), 0), RangeError);
  assert.throws(() => foldIn(key(0), -1), RangeError);
  assert.throws(() => foldIn(key(0), 1.5), RangeError);
  assert.throws(() => foldIn(key(0), WORD), RangeError);
});

test('a split or foldIn of a key computed in a graph equals the one computed on the host', () => {
  const root = key(9);
  const traced = add(root, 0) as Key; // not a constant: derived through randomBits and floor
  assert.equal(constantKeyWords(traced), undefined);
  const host = split(root, 3).map(values);
  const inGraph = split(traced, 3).map(values);
  assert.deepEqual(inGraph, host);
  assert.deepEqual(values(foldIn(traced, 77)), values(foldIn(root, 77)));
  // Splitting twice in the graph still matches the host.
  assert.deepEqual(values(split(split(traced)[1])[0]), values(split(split(root)[1])[0]));
});

test('normal: mean, standard deviation, the one-sigma mass, skewness and kurtosis on 100k samples', () => {
  const zs = values(normal(key(3), [SAMPLES]));
  const m = meanOf(zs);
  const v = varianceOf(zs);
  assert.ok(Math.abs(m) < 5 / Math.sqrt(SAMPLES), `mean ${m}`);
  assert.ok(Math.abs(v - 1) < 5 * Math.sqrt(2 / SAMPLES), `variance ${v}`);
  const withinOne = zs.filter((z) => Math.abs(z) < 1).length / SAMPLES;
  assert.ok(Math.abs(withinOne - 0.682689) < 5 * Math.sqrt((0.6827 * 0.3173) / SAMPLES), `P(|z| < 1) = ${withinOne}`);
  const skewness = meanOf(zs.map((z) => (z - m) ** 3)) / v ** 1.5;
  const kurtosis = meanOf(zs.map((z) => (z - m) ** 4)) / v ** 2;
  assert.ok(Math.abs(skewness) < 5 * Math.sqrt(6 / SAMPLES), `skewness ${skewness}`);
  assert.ok(Math.abs(kurtosis - 3) < 5 * Math.sqrt(24 / SAMPLES), `kurtosis ${kurtosis}`);
  for (const z of zs) assert.ok(Number.isFinite(z) && Math.abs(z) <= Math.sqrt(48 * Math.LN2) + 1e-12);
  assert.ok(Math.abs(lagOneCorrelation(zs)) < CORRELATION_BOUND);
  const shifted = values(normal(key(3), [10_000], 5, 2));
  assert.ok(Math.abs(meanOf(shifted) - 5) < 5 * (2 / Math.sqrt(10_000)), `mean ${meanOf(shifted)}`);
  assert.ok(Math.abs(Math.sqrt(varianceOf(shifted)) - 2) < 0.1, `std ${Math.sqrt(varianceOf(shifted))}`);
});

test('cosineOfTurns matches Math.cos over several periods', () => {
  const turns = Float64Array.from({ length: 4001 }, (_, i) => -2 + i / 1000 + 1e-4 * Math.sin(i));
  const cosines = values(cosineOfTurns(tensor(turns, [turns.length])));
  turns.forEach((t, i) => assert.ok(Math.abs(cosines[i] - Math.cos(2 * Math.PI * t)) < 1e-14, `cos(2 pi ${t})`));
});

test('bernoulli hits its rate, per element when p is a tensor', () => {
  const draws = values(bernoulli(key(4), [SAMPLES], 0.3));
  for (const d of draws) assert.ok(d === 0 || d === 1);
  const rate = meanOf(draws);
  assert.ok(Math.abs(rate - 0.3) < 5 * Math.sqrt((0.3 * 0.7) / SAMPLES), `rate ${rate}`);
  const perColumn = values(bernoulli(key(5), [10_000, 2], tensor([0.1, 0.9], [2])));
  const columnRate = (c: number) => meanOf(perColumn.filter((_, i) => i % 2 === c));
  assert.ok(Math.abs(columnRate(0) - 0.1) < 0.02 && Math.abs(columnRate(1) - 0.9) < 0.02, `${columnRate(0)} ${columnRate(1)}`);
  assert.deepEqual(values(bernoulli(key(4), [100], 0)), new Float64Array(100));
  assert.deepEqual(values(bernoulli(key(4), [100], 1)), new Float64Array(100).fill(1));
});

test('randomInteger covers [low, high) evenly', () => {
  const draws = values(randomInteger(key(6), [SAMPLES], -5, 11));
  for (const d of draws) assert.ok(Number.isInteger(d) && d >= -5 && d < 11, `${d}`);
  const chi = chiSquare(draws, 16, (d) => d + 5);
  assert.ok(chi < CHI_SQUARE_15_AT_0_001, `chi-square ${chi}`);
  assert.throws(() => randomInteger(key(6), [2], 3, 3), RangeError);
  assert.throws(() => randomInteger(key(6), [2], 0, 2.5), RangeError);
});

test('permutation is a permutation, the argsort of randomBits, and differs between keys', () => {
  const order = Array.from(values(permutation(key(8), 1000)));
  assert.deepEqual([...order].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
  const bits = values(randomBits(key(8), [1000]));
  for (let i = 1; i < order.length; i++) assert.ok(bits[order[i - 1]] <= bits[order[i]]);
  assert.deepEqual(Array.from(values(permutation(key(8), 1000))), order);
  assert.notDeepEqual(Array.from(values(permutation(key(9), 1000))), order);
  // A key computed in a graph is evaluated first.
  assert.deepEqual(Array.from(values(permutation(add(key(8), 0) as Key, 1000))), order);
  // Roughly a uniform shuffle: where element 0 lands is spread over the range.
  const landings = Array.from({ length: 400 }, (_, s) => Array.from(values(permutation(key(s), 16))).indexOf(0));
  assert.ok(chiSquare(landings, 16, (x) => x) < CHI_SQUARE_15_AT_0_001);
});

test('the hash\'s limb arithmetic is whole-word arithmetic: (a + b) mod 2^24 and floor(t^2 / 2^12) mod 2^24, as float64 kernels compute them', () => {
  const word = fc.oneof(fc.integer({ min: 0, max: WORD - 1 }), fc.constantFrom(0, 1, 4095, 4096, 4097, WORD / 2, WORD - 4096, WORD - 1));
  const wrap = (x: number) => x - Math.floor(x / WORD) * WORD;
  fc.assert(
    fc.property(word, word, (a, b) => {
      assert.equal(addWords(a, b), wrap(a + b), `addWords(${a}, ${b})`);
      assert.equal(middleSquare(a), wrap(Math.floor((a * a) / 4096)), `middleSquare(${a})`);
      // The square is exact in float64: below 2^48.
      assert.ok(a * a < 2 ** 48 && Number.isSafeInteger(a * a));
    }),
    { numRuns: runs(2000) },
  );
});

test('every intermediate of the hash is an integer below 2^24, and rounding each to float32 changes nothing', () => {
  const word = fc.oneof(fc.integer({ min: 0, max: WORD - 1 }), fc.constantFrom(0, 1, 4095, 4096, WORD - 1));
  fc.assert(
    fc.property(fc.array(word, { minLength: 4, maxLength: 4 }), word, word, (keyWords, index, stream) => {
      let observed = 0;
      const checked = hashWord(keyWords, index, stream, (v) => {
        observed++;
        if (!(Number.isInteger(v) && v >= 0 && v < WORD && Math.fround(v) === v)) throw new Error(`intermediate ${v} is not an integer in [0, 2^24)`);
        return v;
      });
      // The instrument must actually see the arithmetic: dozens of values per round.
      assert.ok(observed > 8 * 40, `only ${observed} intermediates observed`);
      const plain = hashWord(keyWords, index, stream);
      const float32 = hashWord(keyWords, index, stream, Math.fround);
      assert.equal(checked, plain);
      assert.equal(float32, plain);
      // The unit number is the word scaled by a power of two: exact in float32 too.
      assert.equal(Math.fround(hashToUnit(keyWords, index, stream)), plain / WORD);
    }),
    { numRuns: runs(2000) },
  );
  // Key words are read as floor(value) mod 2^24, so every number names a key.
  assert.deepEqual([3.7, -1, WORD + 5, -WORD - 0.5].map(toKeyWord), [3, WORD - 1, 5, WORD - 1]);
});

// The hash translated line for line into a gpu.js kernel (as a code generator would emit it),
// run by the webasm backend, which computes in float32.
function kernelAddWords(a: number, b: number): number {
  const aHigh = Math.floor(a / 4096);
  const aLow = a - aHigh * 4096;
  const bHigh = Math.floor(b / 4096);
  const bLow = b - bHigh * 4096;
  const low = aLow + bLow;
  const carry = Math.floor(low / 4096);
  const lowWrapped = low - carry * 4096;
  const high = aHigh + bHigh + carry;
  const highWrapped = high - Math.floor(high / 4096) * 4096;
  return highWrapped * 4096 + lowWrapped;
}
function kernelMiddleSquare(t: number): number {
  const high = Math.floor(t / 4096);
  const low = t - high * 4096;
  const lowSquared = low * low;
  const cross = high * low;
  const highSquared = high * high;
  const lowSquaredHigh = Math.floor(lowSquared / 4096);
  const crossHigh = Math.floor(cross / 4096);
  const crossLow = cross - crossHigh * 4096;
  const highSquaredLow = highSquared - Math.floor(highSquared / 4096) * 4096;
  const column1 = lowSquaredHigh + 2 * crossLow;
  const carry1 = Math.floor(column1 / 4096);
  const column2 = 2 * crossHigh + highSquaredLow + carry1;
  const column1Low = column1 - carry1 * 4096;
  const column2Low = column2 - Math.floor(column2 / 4096) * 4096;
  return column2Low * 4096 + column1Low;
}

test('a float32 gpu.js kernel (webasm) running the hash reproduces the interpreter bit for bit', { skip: !GPU.isWebAssemblySupported }, () => {
  const gpu = new GPU({ mode: 'webasm' });
  try {
    gpu.addFunction(kernelAddWords);
    gpu.addFunction(kernelMiddleSquare);
    const size = 16384;
    // Round keys depend on the key alone, so they are computed once outside the kernel.
    const kernel = gpu.createKernel(
      function (this: { thread: { x: number } }, roundKeys: number[], offset: number, stream: number) {
        let left = stream;
        let right = this.thread.x + offset;
        for (let round = 0; round < 8; round++) {
          const next = kernelAddWords(left, kernelMiddleSquare(kernelAddWords(right, roundKeys[round])));
          left = right;
          right = next;
        }
        return right / 16777216;
      },
      { output: [size], precision: 'single' },
    );
    assert.equal(ROUNDS, 8, 'the kernel above unrolls 8 rounds');
    const keys = [[0, 0, 0, 0], [WORD - 1, WORD - 1, WORD - 1, WORD - 1], constantKeyWords(key(5))!];
    for (const words of keys)
      for (const [offset, stream] of [[0, 0], [WORD - size, 1], [1234567, 80]]) {
        const roundKeys = ROUND_CONSTANTS.map((c, round) => addWords(words[round % 4], c));
        const fromKernel = kernel(roundKeys, offset, stream) as Float32Array;
        const draw = stream === 0 && offset === 0 ? values(randomBits(tensor(words, [4]), [size])) : undefined;
        for (let i = 0; i < size; i++) {
          const expected = hashToUnit(words, offset + i, stream);
          if (fromKernel[i] !== expected) assert.fail(`key [${words}] index ${offset + i} stream ${stream}: kernel ${fromKernel[i]}, hash ${expected}`);
          if (draw !== undefined && draw[i] !== expected) assert.fail(`randomBits differs from the hash at ${i}`);
        }
      }
  } finally {
    gpu.destroy();
  }
});

test('no gradient reaches the key; the product with a draw differentiates', () => {
  const x = tensor([1, -2, 3, 0.5], [4]);
  const f = ({ x, k }: { x: Tensor; k: Tensor }) => sum(mul(randomBits(k, [4]), x));
  const gradient = grad(f)({ x, k: key(11) });
  assert.deepEqual(values(gradient.x), values(randomBits(key(11), [4])));
  assert.deepEqual(values(gradient.k), new Float64Array(4));
  // The registry's case, where the key moves with x but names the same key, passes; a rule
  // that leaks the cotangent into the key fails it even when the shapes agree (x of 4 elements).
  const { f: caseF } = gradientCases.randomBits;
  const inputs = { x: tensor([0.3, -1.2, 0.7, 1.9], [4]), words: [5, 6, 7, 8] };
  assert.equal(checkGrad(caseF, inputs)._tag, 'Right');
  const leaking = new Map([['randomBits', (ct: Tensor) => [ct]]]);
  const result = checkGrad(caseF, inputs, { rules: leaking });
  assert.equal(result._tag, 'Left');
  assert.equal(result._tag === 'Left' && result.left.kind, 'mismatch');
});

test('randomBits rejects a key of the wrong shape and a draw too large to index in float32', () => {
  assert.throws(() => randomBits(tensor([1, 2, 3], [3]), [2]), (e: unknown) => e instanceof ShapeError && /randomBits/.test(e.message));
  assert.throws(() => randomBits(key(0), [4097, 4097]), (e: unknown) => e instanceof ShapeError && /2\^24/.test(e.message));
  assert.throws(() => randomBits(key(0), [2], -1), ShapeError);
  assert.deepEqual(reshape(randomBits(key(0), [2, 3]), [6]).shape, [6]);
});
