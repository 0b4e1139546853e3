// The tie rules, stated and checked at ties of every size: k tied maxima of a window each get 1/k
// of its cotangent (so the shares add up to the cotangent), and the two operands of an
// elementwise maximum or minimum each get half where they are equal. Finite differences judge
// only two-way ties (props/tie-cases.ts): at any tie the central difference is 1/2, which is
// 1/k only for k = 2. So the rule's own statement, in plain JavaScript, is the reference here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { grad, interpret, max, maximum, maxPool2d, minimum, mul, sizeOf, sum, tensor, type Tensor } from '../lib/index.ts';
import { shapeArbitrary, valuesArbitrary } from '../lib/check/index.ts';
import { poolParametersArbitrary } from './gradient-cases.ts';
import { poolWindows, reductionWindows } from './tie-cases.ts';
import { runs } from './runs.ts';

/** Raises the k largest values of each window to its maximum, k from `sizes` (1 to the window's size). */
const plantTies = (values: readonly number[], windows: readonly (readonly number[])[], sizes: readonly number[]): number[] => {
  const out = [...values];
  windows.forEach((window, w) => {
    const order = [...window].sort((i, j) => out[j] - out[i]);
    for (const i of order.slice(1, 1 + (sizes[w] % window.length))) out[i] = out[order[0]];
  });
  return out;
};

/** The rule as stated: each window's cotangent shared equally among the positions holding its maximum. */
const sharedAmongTies = (values: readonly number[], windows: readonly (readonly number[])[], cotangent: readonly number[]): number[] => {
  const out = new Array<number>(values.length).fill(0);
  windows.forEach((window, w) => {
    const top = Math.max(...window.map((i) => values[i]));
    const tied = window.filter((i) => values[i] === top);
    for (const i of tied) out[i] += cotangent[w] / tied.length;
  });
  return out;
};

/** The VJP of `f` at `x` for the cotangent `cotangent`, in float64. */
const pullback = (f: (x: Tensor) => Tensor, x: Tensor, cotangent: readonly number[]): Float64Array =>
  interpret(grad((input: Tensor) => sum(mul(f(input), tensor(cotangent, f(x).shape))))(x)).data;

const assertClose = (actual: ArrayLike<number>, expected: readonly number[], what: string) => {
  for (let i = 0; i < expected.length; i++)
    assert.ok(Math.abs(actual[i] - expected[i]) <= 1e-12 * Math.max(1, Math.abs(expected[i])), `${what}: element ${i} got ${actual[i]}, the rule gives ${expected[i]}`);
};

const windowSizesArbitrary = (count: number) => fc.array(fc.nat(8), { minLength: count, maxLength: count });

test('max gives each of k tied maxima 1/k of the cotangent (k = 1 up to the whole window)', () => {
  const arbitrary = shapeArbitrary({ minRank: 1, maxRank: 3 }).chain((shape) =>
    fc.record({ axes: fc.subarray(shape.map((_, i) => i), { minLength: 1 }), keepdims: fc.boolean(), values: valuesArbitrary(sizeOf(shape), { distinct: 0.01 }) }).chain(
      ({ axes, keepdims, values }) => {
        const windows = reductionWindows(shape, axes);
        return fc.record({ sizes: windowSizesArbitrary(windows.length), cotangent: valuesArbitrary(windows.length) }).map(({ sizes, cotangent }) => ({
          shape, axes, keepdims, windows, cotangent, values: plantTies(values, windows, sizes),
        }));
      },
    ),
  );
  fc.assert(
    fc.property(arbitrary, ({ shape, axes, keepdims, windows, cotangent, values }) => {
      const gradient = pullback((x) => max(x, axes, keepdims), tensor(values, shape), cotangent);
      assertClose(gradient, sharedAmongTies(values, windows, cotangent), `max over axes [${axes}] of [${shape}] = [${values}]`);
    }),
    { numRuns: runs(100) },
  );
});

test('max pooling gives each of k tied maxima of a window 1/k of its cotangent, summed over the windows that hold it', () => {
  const arbitrary = poolParametersArbitrary(['max']).chain((options) => {
    const windows = poolWindows(2, options);
    return fc
      .record({ values: valuesArbitrary(2 * options.c * options.h * options.w, { distinct: 0.01 }), sizes: windowSizesArbitrary(windows.length), cotangent: valuesArbitrary(windows.length) })
      .map(({ values, sizes, cotangent }) => ({ options, windows, cotangent, values: plantTies(values, windows, sizes) }));
  });
  fc.assert(
    fc.property(arbitrary, ({ options, windows, cotangent, values }) => {
      const gradient = pullback((x) => maxPool2d(x, options), tensor(values, [2, options.c, options.h, options.w]), cotangent);
      assertClose(gradient, sharedAmongTies(values, windows, cotangent), `max pooling ${JSON.stringify(options)} of [${values}]`);
    }),
    { numRuns: runs(100) },
  );
});

test('maximum and minimum give the chosen operand the cotangent, and each operand half of it where they are equal', () => {
  const arbitrary = shapeArbitrary({ maxRank: 3 }).chain((shape) => {
    const n = sizeOf(shape);
    return fc
      .record({
        a: valuesArbitrary(n, { lattice: 0.2 }),
        b: valuesArbitrary(n, { lattice: 0.6 }),
        tied: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
        cotangent: valuesArbitrary(n),
      })
      .map(({ a, b, tied, cotangent }) => ({ shape, cotangent, a: a.map((v, i) => (tied[i] ? b[i] : v)), b }));
  });
  fc.assert(
    fc.property(arbitrary, ({ shape, cotangent, a, b }) => {
      for (const [name, f, chooses] of [['maximum', maximum, (x: number, y: number) => x > y], ['minimum', minimum, (x: number, y: number) => x < y]] as const) {
        const share = (x: number, y: number) => (x === y ? 0.5 : chooses(x, y) ? 1 : 0);
        const gradient = interpret(grad(({ a: x, b: y }: { a: Tensor; b: Tensor }) => sum(mul(f(x, y), tensor(cotangent, shape))))({ a: tensor(a, shape), b: tensor(b, shape) }));
        assertClose(gradient.a.data, cotangent.map((c, i) => c * share(a[i], b[i])), `${name}, the first operand [${a}] against [${b}]`);
        assertClose(gradient.b.data, cotangent.map((c, i) => c * share(b[i], a[i])), `${name}, the second operand [${b}] against [${a}]`);
      }
    }),
    { numRuns: runs(100) },
  );
});
