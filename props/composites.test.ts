// Composites differentiate for free, but their numerically stable forms must still be right:
// gradients against finite differences, and values and gradients against plain Math on the hard
// inputs each form exists for (arguments far out for softplus, zero rows for l2Normalize).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  clip, dilate, expm1, grad, gradientProperty, greaterEqual, interpret, l2Normalize, lessEqual, log1p, logSigmoid, logSoftmax, logsumexp,
  mean, mul, notEqual, relu, shapeArbitrary, sigmoid, softmax, softplus, square, sum, tanh, tensor, tensorArbitrary, type Tensor,
  type ValueOptions, valuesArbitrary, variance,
} from '../lib/index.ts';
import { runs } from './runs.ts';

const withAxes = (values: ValueOptions = {}) =>
  shapeArbitrary({ minRank: 1, maxRank: 3 }).chain((s) =>
    fc.record({ x: tensorArbitrary(s, values), axis: fc.integer({ min: -s.length, max: s.length - 1 }), keepdims: fc.boolean() }),
  );

const unaryCases: Record<string, [(x: Tensor) => Tensor, ValueOptions]> = {
  relu: [relu, { avoid: [0] }],
  sigmoid: [sigmoid, { min: -8, max: 8 }],
  logSigmoid: [logSigmoid, { min: -8, max: 8 }],
  tanh: [tanh, { min: -4, max: 4 }],
  softplus: [softplus, { min: -8, max: 8 }],
  square: [square, {}],
  log1p: [log1p, { min: -0.9, max: 3 }],
  expm1: [expm1, { min: -3, max: 3 }],
  clip: [(x) => clip(x, -1, 1), { avoid: [-1, 1] }],
  // Complementary comparisons gate a product; no gradient may pass the gate.
  lessEqual: [(x) => mul(lessEqual(x, 0.5), mul(x, x)), { avoid: [0.5] }],
  greaterEqual: [(x) => mul(greaterEqual(x, 0.5), mul(x, x)), { avoid: [0.5] }],
  notEqual: [(x) => mul(notEqual(x, 0.5), mul(x, x)), { avoid: [0.5] }],
};

for (const [name, [f, values]] of Object.entries(unaryCases))
  test(`gradient of ${name} matches finite differences`, () => {
    const arbitrary = shapeArbitrary({ maxRank: 3 }).chain((s) => tensorArbitrary(s, values)).map((x) => ({ x }));
    fc.assert(gradientProperty(({ x }) => f(x), arbitrary), { numRuns: runs(60) });
  });

const axisCases: Record<string, (x: Tensor, axis: number, keepdims: boolean) => Tensor> = {
  logsumexp: (x, axis, keepdims) => logsumexp(x, axis, keepdims),
  softmax: (x, axis) => softmax(x, axis),
  logSoftmax: (x, axis) => logSoftmax(x, axis),
  mean: (x, axis, keepdims) => mean(x, axis, keepdims),
  variance: (x, axis, keepdims) => variance(x, axis, keepdims),
  l2Normalize: (x, axis) => l2Normalize(x, axis),
};

for (const [name, f] of Object.entries(axisCases))
  test(`gradient of ${name} over an axis matches finite differences`, () => {
    fc.assert(gradientProperty(({ x, axis, keepdims }) => f(x, axis, keepdims), withAxes({ min: -3, max: 3, avoid: [0] })), {
      numRuns: runs(60),
    });
  });

test('gradient of dilate matches finite differences', () => {
  const arbitrary = shapeArbitrary({ minRank: 1, maxRank: 3 }).chain((s) =>
    fc.record({ x: tensorArbitrary(s), axis: fc.integer({ min: 0, max: s.length - 1 }), step: fc.integer({ min: 1, max: 3 }) }),
  );
  fc.assert(gradientProperty(({ x, axis, step }) => dilate(x, axis, step), arbitrary), { numRuns: runs(60) });
});

const values = (t: Tensor) => Array.from(interpret(t).data);

test('logsumexp, softmax and sigmoid stay finite and exact on huge inputs', () => {
  const huge = tensor([1000, 1000, -1000], [3]);
  assert.equal(values(logsumexp(huge))[0], 1000 + Math.log(2));
  assert.deepEqual(values(softmax(huge)), [0.5, 0.5, 0]);
  assert.deepEqual(values(sigmoid(tensor([-1000, 0, 1000], [3]))), [0, 0.5, 1]);
  const gradient = interpret(grad((x: Tensor) => sum(logSigmoid(x)))(tensor([-1000, 1000], [2])));
  assert.deepEqual(Array.from(gradient.data), [1, 0]);
});

test('expm1 and tanh keep the digits of tiny arguments', () => {
  for (const x of [1e-20, -1e-17, 1e-10, -3e-8, 0.5, -0.5, 20, -40]) {
    assert.ok(Math.abs(values(expm1(tensor([x], [1])))[0] - Math.expm1(x)) <= 1e-15 * Math.abs(Math.expm1(x)), `expm1(${x})`);
    assert.ok(Math.abs(values(tanh(tensor([x], [1])))[0] - Math.tanh(x)) <= 1e-15 * Math.abs(Math.tanh(x)), `tanh(${x})`);
  }
  // The gradient at exactly 0 is 1, not the 0 a sign(x) factor would give.
  assert.deepEqual(Array.from(interpret(grad((x: Tensor) => sum(tanh(x)))(tensor([0], [1]))).data), [1]);
});

test('log1p keeps the digits of tiny arguments that 1 + x rounds away', () => {
  for (const x of [1e-20, -1e-17, 1e-10, 3e-8, 0.5, -0.5, 10])
    assert.ok(Math.abs(values(log1p(tensor([x], [1])))[0] - Math.log1p(x)) <= 1e-15 * Math.abs(Math.log1p(x)), `log1p(${x})`);
});

test('composite values agree with plain Math', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 1, maxLength: 8 }), (xs) => {
      const x = tensor(xs, [xs.length]);
      const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b));
      values(expm1(x)).forEach((v, i) => assert.ok(close(v, Math.expm1(xs[i])), `expm1(${xs[i]})`));
      values(tanh(x)).forEach((v, i) => assert.ok(close(v, Math.tanh(xs[i])), `tanh(${xs[i]})`));
      values(sigmoid(x)).forEach((v, i) => assert.ok(close(v, 1 / (1 + Math.exp(-xs[i]))), `sigmoid(${xs[i]})`));
      values(softplus(x)).forEach((v, i) => assert.ok(close(v, Math.log1p(Math.exp(xs[i]))), `softplus(${xs[i]})`));
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      assert.ok(close(values(mean(x))[0], m));
      assert.ok(close(values(variance(x))[0], xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length));
      const total = values(softmax(x)).reduce((a, b) => a + b, 0);
      assert.ok(close(total, 1));
    }),
    { numRuns: runs(100) },
  );
});

test('l2Normalize gives unit rows and leaves a zero row finite', () => {
  const rows = values(l2Normalize(tensor([3, 4, 0, 0, 1, 1], [3, 2])));
  assert.deepEqual(rows.slice(0, 4), [0.6, 0.8, 0, 0]);
  assert.ok(Math.abs(rows[4] - Math.SQRT1_2) < 1e-15 && Math.abs(rows[5] - Math.SQRT1_2) < 1e-15);
  const gradient = interpret(grad((x: Tensor) => sum(l2Normalize(x)))(tensor([0, 0], [1, 2])));
  assert.ok(Array.from(gradient.data).every(Number.isFinite));
});

// ---- the edges a composite's form exists for ----

/** The stable forms, in plain Math: what each activation must equal wherever its argument lies. */
const softplusByHand = (x: number): number => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
const sigmoidByHand = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

test('softplus, sigmoid and logSigmoid and their gradients are finite and exact for arguments up to 1000 in size', () => {
  const wide = fc.oneof(fc.double({ min: -1000, max: 1000, noNaN: true }), fc.constantFrom(-1000, -746, -40, 0, 40, 710, 1000));
  const cases: [string, (x: Tensor) => Tensor, (x: number) => number, (x: number) => number][] = [
    ['softplus', softplus, softplusByHand, sigmoidByHand],
    ['sigmoid', sigmoid, sigmoidByHand, (x) => sigmoidByHand(x) * sigmoidByHand(-x)],
    ['logSigmoid', logSigmoid, (x) => -softplusByHand(-x), (x) => sigmoidByHand(-x)],
  ];
  fc.assert(
    fc.property(fc.array(wide, { minLength: 1, maxLength: 8 }), (xs) => {
      const x = tensor(xs, [xs.length]);
      const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b));
      for (const [name, f, value, slope] of cases) {
        values(f(x)).forEach((v, i) => assert.ok(close(v, value(xs[i])), `${name}(${xs[i]}) is ${v}, not ${value(xs[i])}`));
        values(grad((input: Tensor) => sum(f(input)))(x)).forEach((g, i) =>
          assert.ok(close(g, slope(xs[i])), `${name}'s gradient at ${xs[i]} is ${g}, not ${slope(xs[i])}`),
        );
      }
    }),
    { numRuns: runs(100) },
  );
});

type RowKind = 'plain' | 'zero' | 'tiny';

test('l2Normalize makes every row unit, tiny ones (norm 1e-9) included, leaves zero rows zero, and its gradient is finite at all of them', () => {
  const arbitrary = fc
    .record({ rows: fc.integer({ min: 1, max: 5 }), columns: fc.integer({ min: 1, max: 5 }) })
    .chain(({ rows, columns }) =>
      fc.record({
        rows: fc.constant(rows),
        columns: fc.constant(columns),
        kinds: fc.array(fc.constantFrom<RowKind>('plain', 'zero', 'tiny'), { minLength: rows, maxLength: rows }),
        x: valuesArbitrary(rows * columns, { min: 0.5, max: 2 }).map((magnitudes) => magnitudes.map((v, i) => (i % 3 === 1 ? -v : v))),
        weights: valuesArbitrary(rows * columns),
      }),
    );
  fc.assert(
    fc.property(arbitrary, ({ rows, columns, kinds, x, weights }) => {
      const data = x.map((v, i) => {
        const kind = kinds[Math.floor(i / columns)];
        return kind === 'zero' ? 0 : kind === 'tiny' ? v * 1e-9 : v;
      });
      const input = tensor(data, [rows, columns]);
      const out = values(l2Normalize(input));
      const gradient = values(grad((t: Tensor) => sum(mul(l2Normalize(t), tensor(weights, [rows, columns]))))(input));
      kinds.forEach((kind, r) => {
        const row = out.slice(r * columns, (r + 1) * columns);
        if (kind === 'zero') assert.ok(row.every((v) => v === 0), `zero row ${r} came out [${row}]`);
        else assert.ok(Math.abs(Math.hypot(...row) - 1) <= 1e-12, `${kind} row ${r} has norm ${Math.hypot(...row)}`);
      });
      const index = gradient.findIndex((g) => !Number.isFinite(g));
      assert.ok(index < 0, `the gradient at element ${index} (a ${kinds[Math.floor(index / columns)]} row) is ${gradient[index]}`);
    }),
    { numRuns: runs(100) },
  );
});
