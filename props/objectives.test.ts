// The embedding objectives: gradients against finite differences, values against the equations
// worked by hand (plain Math.exp / Math.log, independent of the library), stability where the
// softmax saturates, invariances, and descent along the negative gradient.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  checkGrad, formatGradCheckFailure, grad, gradientProperty, interpret, interpretScalar, type Tensor, tensor, tensorArbitrary, unitRowsArbitrary,
} from '../lib/index.ts';
import { uniformNumbers } from '../lib/check/sample.ts';
import { alignmentUniformityLoss, type Features, invariantSpreadingLoss, logOneMinusSoftmax, ntXentLoss } from '../lib/objectives/index.ts';
import { batchCriterionGradient, batchCriterionLoss } from './invariant-spreading-reference.ts';
import { runs } from './runs.ts';

// ---- plain arrays, and the objectives worked by hand ----

type Rows = number[][];

const fromRows = (rows: Rows): Features => tensor(rows.flat(), [rows.length, rows[0].length]);
const rowsOf = (features: Tensor): Rows => {
  const { data, shape } = interpret(features);
  return Array.from({ length: shape[0] }, (_, i) => Array.from(data.subarray(i * shape[1], (i + 1) * shape[1])));
};
const normalised = (row: number[]): number[] => {
  const norm = Math.hypot(...row);
  return row.map((v) => v / norm);
};
const dot = (a: number[], b: number[]): number => a.reduce((s, v, k) => s + v * b[k], 0);
const squaredDistance = (a: number[], b: number[]): number => a.reduce((s, v, k) => s + (v - b[k]) ** 2, 0);
const partnerOf = (i: number, m: number): number => (i < m ? i + m : i - m);
const sumOver = (n: number, term: (k: number) => number): number => Array.from({ length: n }, (_, k) => term(k)).reduce((a, b) => a + b, 0);

/** The equation of Ye et al. term by term; log(1 - P_ij) as log(sum_{k != i, j} e_ik) - log(sum_{k != i} e_ik). */
const invariantSpreadingByHand = (rows: Rows, temperature: number, negativeWeight = 1): number => {
  const n = rows.length;
  const m = n / 2;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const e = (k: number) => (k === i ? 0 : Math.exp(dot(rows[i], rows[k]) / temperature));
    const z = sumOver(n, e);
    total += Math.log(e(partnerOf(i, m)) / z);
    for (let j = 0; j < n; j++)
      if (j !== i && j !== partnerOf(i, m)) total += negativeWeight * (Math.log(sumOver(n, (k) => (k === j ? 0 : e(k)))) - Math.log(z));
  }
  return -total / n;
};

const ntXentByHand = (rows: Rows, temperature: number): number => {
  const n = rows.length;
  return -sumOver(n, (i) => {
    const e = (k: number) => (k === i ? 0 : Math.exp(dot(rows[i], rows[k]) / temperature));
    return Math.log(e(partnerOf(i, n / 2)) / sumOver(n, e));
  }) / n;
};

const alignmentUniformityByHand = (rows: Rows, alpha: number, t: number, uniformityWeight: number): number => {
  const n = rows.length;
  const m = n / 2;
  const alignment = sumOver(m, (k) => Math.sqrt(squaredDistance(rows[k], rows[k + m])) ** alpha) / m;
  const kernelSum = sumOver(n, (i) => sumOver(n, (k) => (k === i ? 0 : Math.exp(-t * squaredDistance(rows[i], rows[k])))));
  return alignment + uniformityWeight * Math.log(kernelSum / (n * (n - 1)));
};

/** Unit rows from the harness's deterministic numbers: a fixed random batch per seed. */
const randomUnitRows = (seed: number, rows: number, dimension: number): Rows => {
  const values = uniformNumbers(seed, rows * dimension, -1, 1);
  return Array.from({ length: rows }, (_, i) => normalised(Array.from(values.subarray(i * dimension, (i + 1) * dimension))));
};

const closeTo = (actual: number, expected: number, relative = 1e-11) =>
  assert.ok(Math.abs(actual - expected) <= relative * Math.max(1, Math.abs(expected)), `${actual} is not ${expected}`);

const gradientOf = (loss: (features: Features) => Tensor, features: Features): Float64Array =>
  interpret(grad(loss)(features)).data;

// ---- batches ----

/**
 * A batch of 2m unit rows in d dimensions, m in 1..4 and d in 2..6. Drawn a row at a time:
 * `unitRowsArbitrary(2m, d)` rejects the whole batch when any row is near zero, which fast-check's
 * bias towards small values makes common for small d (8 rows of 2 took about a second a batch).
 */
const batchArbitrary = (): fc.Arbitrary<Features> =>
  fc
    .record({ m: fc.integer({ min: 1, max: 4 }), d: fc.integer({ min: 2, max: 6 }) })
    .chain(({ m, d }) => fc.array(unitRowsArbitrary(1, d), { minLength: 2 * m, maxLength: 2 * m }))
    .map((rows) => fromRows(rows.flatMap(rowsOf)));

/** Batches whose two views of an instance stay apart: |x - y|^alpha with alpha < 2 has a kink where they meet. */
const positivesApartArbitrary = batchArbitrary().filter((features) => {
  const rows = rowsOf(features);
  const m = rows.length / 2;
  return rows.slice(0, m).every((row, k) => squaredDistance(row, rows[k + m]) > 0.01);
});

// ---- the objectives under test ----

interface Objective {
  readonly name: string;
  readonly loss: (features: Features) => Tensor;
  readonly byHand: (rows: Rows) => number;
  /** The batches its gradient is checked on, when not `batchArbitrary()`. */
  readonly arbitrary?: fc.Arbitrary<Features>;
  /** Its gradient stops at the targets, so it is not the gradient of the loss (no descent promised). */
  readonly stopsGradientAtTargets?: true;
}

const softmaxObjectives = (temperature: number): Objective[] => [
  {
    name: `invariantSpreadingLoss, tau ${temperature}, stopGradientOnTargets true`,
    loss: (x) => invariantSpreadingLoss(x, { temperature }),
    byHand: (rows) => invariantSpreadingByHand(rows, temperature),
    stopsGradientAtTargets: true,
  },
  {
    name: `invariantSpreadingLoss, tau ${temperature}, stopGradientOnTargets false, negativeWeight 0.7`,
    loss: (x) => invariantSpreadingLoss(x, { temperature, stopGradientOnTargets: false, negativeWeight: 0.7 }),
    byHand: (rows) => invariantSpreadingByHand(rows, temperature, 0.7),
  },
  { name: `ntXentLoss, tau ${temperature}`, loss: (x) => ntXentLoss(x, { temperature }), byHand: (rows) => ntXentByHand(rows, temperature) },
];

const alignmentUniformityObjectives: Objective[] = [
  { name: 'alignmentUniformityLoss, defaults', loss: (x) => alignmentUniformityLoss(x), byHand: (rows) => alignmentUniformityByHand(rows, 2, 2, 1) },
  {
    name: 'alignmentUniformityLoss, alpha 1, t 3, uniformityWeight 0.5',
    loss: (x) => alignmentUniformityLoss(x, { alpha: 1, t: 3, uniformityWeight: 0.5 }),
    byHand: (rows) => alignmentUniformityByHand(rows, 1, 3, 0.5),
    arbitrary: positivesApartArbitrary,
  },
];

const objectives: Objective[] = [...softmaxObjectives(0.05), ...softmaxObjectives(0.1), ...softmaxObjectives(0.5), ...alignmentUniformityObjectives];

// ---- gradients ----

for (const { name, loss, arbitrary } of objectives)
  test(`gradient of ${name} matches finite differences`, () => {
    fc.assert(gradientProperty(loss, arbitrary ?? batchArbitrary()), { numRuns: runs(60) });
  });

// ---- values worked by hand ----

test('one instance (m = 1, d = 2) worked by hand', () => {
  const angle = 1.1;
  const features = fromRows([[1, 0], [Math.cos(angle), Math.sin(angle)]]);
  const squared = 2 - 2 * Math.cos(angle);
  // The softmax of each row has one entry, its positive: P_i = 1, and there are no negatives.
  for (const stopGradientOnTargets of [true, false]) {
    const loss = (x: Features) => invariantSpreadingLoss(x, { temperature: 0.05, stopGradientOnTargets });
    closeTo(interpretScalar(loss(features)), 0);
    assert.deepEqual(Array.from(gradientOf(loss, features), Math.abs), [0, 0, 0, 0]);
  }
  closeTo(interpretScalar(ntXentLoss(features)), 0);
  // One positive pair, which is also the only pair: alignment |x - y|^2, uniformity -t |x - y|^2.
  closeTo(interpretScalar(alignmentUniformityLoss(features)), squared - 2 * squared);
  closeTo(interpretScalar(alignmentUniformityLoss(features, { alpha: 1, t: 3, uniformityWeight: 0.5 })), 2 * Math.sin(angle / 2) - 0.5 * 3 * squared);
});

test('two instances (m = 2, d = 2) worked by hand', () => {
  const rows = [0.2, 2.9, 0.7, -2.0].map((angle) => [Math.cos(angle), Math.sin(angle)]);
  const features = fromRows(rows);
  const tau = 0.5;
  const s = (i: number, k: number) => dot(rows[i], rows[k]) / tau;
  const others = (i: number) => [0, 1, 2, 3].filter((k) => k !== i);
  const z = (i: number) => sumOver(3, (n) => Math.exp(s(i, others(i)[n])));
  // Row i's positive is row i ^ 2 (0 <-> 2, 1 <-> 3); its two negatives are the other instance's rows.
  const negativesOf = (i: number) => others(i).filter((k) => k !== (i ^ 2));
  const logPositive = sumOver(4, (i) => s(i, i ^ 2) - Math.log(z(i)));
  const logNotNegative = sumOver(4, (i) => sumOver(2, (n) => Math.log(1 - Math.exp(s(i, negativesOf(i)[n])) / z(i))));
  for (const stopGradientOnTargets of [true, false])
    closeTo(interpretScalar(invariantSpreadingLoss(features, { temperature: tau, stopGradientOnTargets })), -(logPositive + logNotNegative) / 4);
  closeTo(interpretScalar(invariantSpreadingLoss(features, { temperature: tau, negativeWeight: 3 })), -(logPositive + 3 * logNotNegative) / 4);
  closeTo(interpretScalar(ntXentLoss(features, { temperature: tau })), -logPositive / 4);
  const alignment = (squaredDistance(rows[0], rows[2]) + squaredDistance(rows[1], rows[3])) / 2;
  const pairs = [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]];
  const uniformity = Math.log(sumOver(6, (p) => Math.exp(-2 * squaredDistance(rows[pairs[p][0]], rows[pairs[p][1]]))) / 6);
  closeTo(interpretScalar(alignmentUniformityLoss(features)), alignment + uniformity);
});

test('a negative that coincides with the row at tau 0.05 (P_ij rounds to 1) worked by hand', () => {
  // Instances (v, -v) and (v, -v): each row's negative is itself (logit a = 1/tau), while its
  // positive and other negative sit at -a. P_ij = 1 - 2e^-2a / (1 + 2e^-2a) = 1 - 8.5e-18, which
  // is 1 in float64, so log(1 - P_ij) must come from the sum of the other entries.
  const a = 20;
  const features = fromRows([[1, 0], [1, 0], [-1, 0], [-1, 0]]);
  const logZ = a + Math.log1p(2 * Math.exp(-2 * a));
  const logPositive = -a - logZ;
  const logNotCoincident = Math.log(2) - a - logZ;
  const logNotOpposite = a + Math.log1p(Math.exp(-2 * a)) - logZ;
  for (const negativeWeight of [1, 0.5])
    closeTo(
      interpretScalar(invariantSpreadingLoss(features, { temperature: 0.05, negativeWeight })),
      -(logPositive + negativeWeight * (logNotCoincident + logNotOpposite)),
    );
  // The gradient there is finite and right (finite differences hold the stopGradient nodes fixed).
  for (const stopGradientOnTargets of [true, false]) {
    const result = checkGrad((x: Features) => invariantSpreadingLoss(x, { temperature: 0.05, stopGradientOnTargets }), features);
    assert.ok(result._tag === 'Right', result._tag === 'Left' ? formatGradCheckFailure(result.left) : '');
  }
});

test('every objective equals its equation worked by hand on random batches', () => {
  fc.assert(
    fc.property(batchArbitrary(), (features) => {
      const rows = rowsOf(features);
      for (const { name, loss, byHand } of objectives) {
        const actual = interpretScalar(loss(features));
        const expected = byHand(rows);
        assert.ok(Math.abs(actual - expected) <= 1e-10 * Math.max(1, Math.abs(expected)), `${name}: ${actual}, by hand ${expected}`);
      }
    }),
    { numRuns: runs(100) },
  );
});

test("the negative weight (the authors' negM) scales the spreading term alone: 0 leaves NT-Xent, the loss is affine in it", () => {
  fc.assert(
    fc.property(batchArbitrary(), fc.constantFrom(0.1, 0.5), fc.double({ min: 0, max: 4, noNaN: true }), (features, temperature, negativeWeight) => {
      const at = (w: number) => interpretScalar(invariantSpreadingLoss(features, { temperature, negativeWeight: w }));
      const [none, one, chosen] = [at(0), at(1), at(negativeWeight)];
      // Without the spreading term only -log P_i of the positives is left, which is NT-Xent.
      assert.ok(Math.abs(none - interpretScalar(ntXentLoss(features, { temperature }))) <= 1e-10 * Math.max(1, Math.abs(none)));
      const affine = none + negativeWeight * (one - none);
      assert.ok(Math.abs(chosen - affine) <= 1e-9 * Math.max(1, Math.abs(affine)), `weight ${negativeWeight}: ${chosen}, affine ${affine}`);
    }),
    { numRuns: runs(50) },
  );
});

// ---- stability ----

const assertFiniteLossAndGradient = (name: string, loss: (features: Features) => Tensor, features: Features) => {
  const value = interpretScalar(loss(features));
  assert.ok(Number.isFinite(value), `${name}: loss ${value}`);
  const gradient = gradientOf(loss, features);
  assert.ok(gradient.every(Number.isFinite), `${name}: gradient ${Array.from(gradient)}`);
};

const direction = normalised([0.3, -0.5, 0.8]);

const stabilityCases: Record<string, Rows> = {
  'nearly coincident rows (1e-9 noise)': randomUnitRows(7, 8, 3).map((noise) => normalised(direction.map((v, k) => v + 1e-9 * noise[k]))),
  'coincident rows': Array.from({ length: 8 }, () => direction),
  'second views antipodal to the first': [...Array.from({ length: 4 }, () => direction), ...Array.from({ length: 4 }, () => direction.map((v) => -v))],
  'instances alternately antipodal': Array.from({ length: 8 }, (_, i) => direction.map((v) => (i % 2 === 0 ? v : -v))),
  'the first views coincide, the second antipodal to them': [[1, 0], [1, 0], [-1, 0], [-1, 0]],
};

test('the objectives stay finite, with finite gradients, where the softmax saturates (tau 0.05)', () => {
  for (const [situation, rows] of Object.entries(stabilityCases))
    for (const { name, loss } of [...softmaxObjectives(0.05), ...alignmentUniformityObjectives])
      assertFiniteLossAndGradient(`${name}, ${situation}`, loss, fromRows(rows));
});

test('a large batch (m = 64, d = 8) is finite and equals the equation worked by hand', () => {
  const rows = randomUnitRows(3, 128, 8);
  const features = fromRows(rows);
  for (const { name, loss, byHand } of [...softmaxObjectives(0.05), ...alignmentUniformityObjectives]) {
    assertFiniteLossAndGradient(name, loss, features);
    closeTo(interpretScalar(loss(features)), byHand(rows), 1e-10);
  }
});

// ---- log(1 - P), the piece that must not cancel ----

const logSumExpByHand = (values: number[]): number => {
  const shift = Math.max(...values);
  return shift + Math.log(values.reduce((s, v) => s + Math.exp(v - shift), 0));
};

/** Logits spread over [-40, 40] in rows of 2..5: some entries hold all but e^-70 of their row's mass. */
const wideLogitsArbitrary = fc
  .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 5 }))
  .chain(([rows, columns]) => tensorArbitrary([rows, columns], { min: -40, max: 40 }));

test('logOneMinusSoftmax equals log(sum of the others) - log(sum of all), worked by hand, and its gradient matches', () => {
  fc.assert(
    fc.property(wideLogitsArbitrary, (logits) => {
      const rows = rowsOf(logits);
      const actual = rowsOf(logOneMinusSoftmax(logits));
      rows.forEach((row, i) =>
        row.forEach((_, j) => {
          const expected = logSumExpByHand(row.filter((__, k) => k !== j)) - logSumExpByHand(row);
          assert.ok(Math.abs(actual[i][j] - expected) <= 1e-12 * Math.max(1, Math.abs(expected)), `row ${row}, entry ${j}: ${actual[i][j]}, by hand ${expected}`);
        }),
      );
      const result = checkGrad(logOneMinusSoftmax, logits);
      assert.ok(result._tag === 'Right', result._tag === 'Left' ? formatGradCheckFailure(result.left) : '');
    }),
    { numRuns: runs(100) },
  );
  // Far beyond any unit-feature logit: the other entries underflow next to the largest, yet the answer is finite.
  const far = tensor([0, -1000, -1001], [1, 3]);
  closeTo(rowsOf(logOneMinusSoftmax(far))[0][0], -1000 + Math.log1p(Math.exp(-1)), 1e-14);
  const result = checkGrad(logOneMinusSoftmax, far);
  assert.ok(result._tag === 'Right', result._tag === 'Left' ? formatGradCheckFailure(result.left) : '');
});

// ---- invariances ----

const permutedBatchArbitrary = batchArbitrary().chain((features) => {
  const m = features.shape[0] / 2;
  const instances = Array.from({ length: m }, (_, i) => i);
  return fc.record({ features: fc.constant(features), order: fc.shuffledSubarray(instances, { minLength: m, maxLength: m }) });
});

test('permuting the instances (both views alike) or swapping the two views leaves every objective unchanged', () => {
  fc.assert(
    fc.property(permutedBatchArbitrary, ({ features, order }) => {
      const rows = rowsOf(features);
      const m = rows.length / 2;
      const permuted = fromRows([...order.map((i) => rows[i]), ...order.map((i) => rows[i + m])]);
      const swapped = fromRows([...rows.slice(m), ...rows.slice(0, m)]);
      for (const { name, loss } of objectives) {
        const value = interpretScalar(loss(features));
        for (const [change, changed] of [['permuted', permuted], ['swapped', swapped]] as const) {
          const after = interpretScalar(loss(changed));
          assert.ok(Math.abs(after - value) <= 1e-12 * Math.max(1, Math.abs(value)), `${name}, ${change}: ${after} != ${value}`);
        }
      }
    }),
    { numRuns: runs(100) },
  );
});

// ---- descent ----

/** Some step along the negative gradient lowers the loss by at least a quarter of the first-order prediction (Armijo). */
const descends = (loss: (features: Features) => Tensor, features: Features): boolean => {
  const { data: x, shape } = interpret(features);
  const g = gradientOf(loss, features);
  const squaredNorm = g.reduce((s, v) => s + v * v, 0);
  if (squaredNorm < 1e-12) return true;
  const before = interpretScalar(loss(features));
  for (let step = 1; step > 1e-9; step /= 2) {
    const after = interpretScalar(loss(tensor(x.map((v, i) => v - step * g[i]), shape as [number, number])));
    if (after <= before - 0.25 * step * squaredNorm) return true;
  }
  return false;
};

test('each loss decreases along its negative gradient for a small step', () => {
  for (const { name, loss, arbitrary, stopsGradientAtTargets } of objectives)
    if (!stopsGradientAtTargets)
      fc.assert(
        fc.property(arbitrary ?? batchArbitrary(), (features) => assert.ok(descends(loss, features), `${name} does not descend`)),
        { numRuns: runs(30) },
      );
});

// ---- stopGradientOnTargets ----

test('stopGradientOnTargets changes the gradient, and both gradients match finite differences', () => {
  for (let seed = 1; seed <= 6; seed++) {
    const m = 2 + (seed % 3);
    const features = fromRows(randomUnitRows(seed, 2 * m, 3 + (seed % 2)));
    const [detached, full] = [true, false].map((stopGradientOnTargets) => {
      const loss = (x: Features) => invariantSpreadingLoss(x, { temperature: 0.1, stopGradientOnTargets });
      const result = checkGrad(loss, features);
      assert.ok(result._tag === 'Right', result._tag === 'Left' ? formatGradCheckFailure(result.left) : '');
      return gradientOf(loss, features);
    });
    const difference = Math.max(...detached.map((v, i) => Math.abs(v - full[i])));
    const size = Math.max(...full.map(Math.abs));
    assert.ok(difference > 1e-3 * size, `seed ${seed}: the gradients differ by only ${difference} (largest entry ${size})`);
  }
});

// ---- where the stopGradient sits, against the authors' form ----

const temperatureArbitrary = fc.constantFrom(0.05, 0.1, 0.5);

test('the reference BatchCriterion gradient matches its own finite differences, targets held or moving', () => {
  fc.assert(
    fc.property(batchArbitrary(), temperatureArbitrary, (features, temperature) => {
      const rows = rowsOf(features);
      const moved = (i: number, c: number, h: number) => rows.map((row, r) => row.map((v, k) => (r === i && k === c ? v + h : v)));
      for (const targetsConstant of [true, false]) {
        const gradient = batchCriterionGradient(rows, temperature, { targetsConstant });
        rows.forEach((row, i) =>
          row.forEach((v, c) => {
            const h = 1e-6;
            const at = (delta: number) => batchCriterionLoss(moved(i, c, delta), targetsConstant ? rows : moved(i, c, delta), temperature);
            const numeric = (at(h) - at(-h)) / (2 * h);
            assert.ok(Math.abs(gradient[i][c] - numeric) <= 1e-6 + 1e-5 * Math.abs(numeric), `targets ${targetsConstant ? 'held' : 'moving'}, row ${i} column ${c}: ${gradient[i][c]}, finite differences ${numeric}`);
          }),
        );
      }
    }),
    { numRuns: runs(30) },
  );
});

test('invariantSpreadingLoss in both forms has the gradient of the reference written from the authors\' BatchCriterion', () => {
  fc.assert(
    fc.property(batchArbitrary(), temperatureArbitrary, (features, temperature) => {
      const rows = rowsOf(features);
      closeTo(interpretScalar(invariantSpreadingLoss(features, { temperature })), batchCriterionLoss(rows, rows, temperature), 1e-10);
      for (const stopGradientOnTargets of [true, false]) {
        const gradient = gradientOf((x) => invariantSpreadingLoss(x, { temperature, stopGradientOnTargets }), features);
        const expected = batchCriterionGradient(rows, temperature, { targetsConstant: stopGradientOnTargets }).flat();
        const scale = Math.max(1, ...expected.map(Math.abs));
        expected.forEach((v, i) =>
          assert.ok(Math.abs(gradient[i] - v) <= 1e-9 * scale, `stopGradientOnTargets ${stopGradientOnTargets}, tau ${temperature}, element ${i}: ${gradient[i]}, the reference ${v}`),
        );
      }
    }),
    { numRuns: runs(100) },
  );
});
