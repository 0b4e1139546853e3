// Embedding evaluation (lib/eval) and the top-k it rests on: topKIndices against a sort, the
// weighted kNN against a naive plain-JS implementation (full similarity matrix, sort, vote) for
// several chunk sizes, sanity cases whose accuracy is known, and a speed figure (printed only).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { interpret, tensor } from '../lib/index.ts';
import { topKIndices } from '../lib/primitives/top-k-indices.ts';
import { topK } from '../lib/composites/top-k.ts';
import { type FeatureMatrix, knnChunkGraph, weightedKnnCompiled, weightedKnn } from '../lib/eval/index.ts';
import { mulberry32 } from '../lib/data/index.ts';
import { runs } from './runs.ts';

// ---------------------------------------------------------------- references in plain JS

/** Positions of one row sorted by value (largest first), ties by lower position, cut after k. */
const sortedPositions = (row: readonly number[], k: number): number[] =>
  row
    .map((value, position) => ({ value, position }))
    .sort((a, b) => b.value - a.value || a.position - b.position)
    .slice(0, k)
    .map(({ position }) => position);

interface NaiveKnn {
  readonly votes: number[][];
  readonly predictions: number[];
  readonly top1: number;
  readonly top5: number;
}

/**
 * Weighted kNN as the papers describe it, with no tensors: the full similarity matrix, a sort per
 * test row, a vote per neighbour. Dot products and votes are summed in the same order as the
 * language's reference loops, so the two agree to the last bit and ties break the same way.
 */
const naiveWeightedKnn = (
  train: FeatureMatrix, trainLabels: readonly number[], test: FeatureMatrix, testLabels: readonly number[],
  { k, sigma, classes }: { k: number; sigma: number; classes: number },
): NaiveKnn => {
  const [n, d] = train.shape;
  const m = test.shape[0];
  const votes: number[][] = [];
  const predictions: number[] = [];
  let top1 = 0;
  let top5 = 0;
  for (let i = 0; i < m; i++) {
    const similarity: number[] = [];
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let p = 0; p < d; p++) dot += test.data[i * d + p] * train.data[j * d + p];
      similarity.push(dot);
    }
    const vote = new Array<number>(classes).fill(0);
    for (const j of sortedPositions(similarity, k)) vote[trainLabels[j]] += Math.exp(similarity[j] / sigma);
    const ranking = sortedPositions(vote, Math.min(5, classes));
    votes.push(vote);
    predictions.push(ranking[0]);
    if (ranking[0] === testLabels[i]) top1++;
    if (ranking.includes(testLabels[i])) top5++;
  }
  return { votes, predictions, top1: top1 / m, top5: top5 / m };
};

// ---------------------------------------------------------------- data

/** Rows scaled to unit length (an all-zero row stays zero), in the requested precision. */
const unitRows = (values: readonly number[], rows: number, dimension: number, precision: 32 | 64): FeatureMatrix => {
  const data = precision === 32 ? new Float32Array(values.length) : new Float64Array(values.length);
  for (let r = 0; r < rows; r++) {
    let norm = 0;
    for (let c = 0; c < dimension; c++) norm += values[r * dimension + c] ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let c = 0; c < dimension; c++) data[r * dimension + c] = values[r * dimension + c] / norm;
  }
  return { shape: [rows, dimension], data };
};

const gaussian = (random: () => number): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

/** `count` points around `centres[label]` with noise of the given spread, L2-normalised. */
const clustered = (random: () => number, centres: number[][], labels: readonly number[], spread: number): FeatureMatrix => {
  const dimension = centres[0].length;
  const values = labels.flatMap((label) => centres[label].map((c) => c + spread * gaussian(random)));
  return unitRows(values, labels.length, dimension, 32);
};

const randomLabels = (random: () => number, count: number, classes: number): number[] =>
  Array.from({ length: count }, () => Math.floor(random() * classes));

// ---------------------------------------------------------------- topKIndices

/** Values drawn from a few integers (many ties) or from doubles. */
const rowValues = (count: number) =>
  fc.oneof(
    fc.array(fc.integer({ min: -2, max: 2 }), { minLength: count, maxLength: count }),
    fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: count, maxLength: count }),
  );

const topKCase = fc
  .array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 })
  .chain((shape) => {
    const n = shape[shape.length - 1];
    return fc.record({
      shape: fc.constant(shape),
      values: rowValues(shape.reduce((a, b) => a * b, 1)),
      k: fc.oneof(fc.constant(n), fc.integer({ min: 0, max: n })),
    });
  });

test('topKIndices picks the k largest along the last axis like a stable descending sort', () => {
  fc.assert(
    fc.property(topKCase, ({ shape, values, k }) => {
      const n = shape[shape.length - 1];
      const result = interpret(topKIndices(tensor(values, shape), k));
      assert.deepEqual(result.shape, [...shape.slice(0, -1), k]);
      const expected: number[] = [];
      for (let r = 0; r < values.length / n; r++) expected.push(...sortedPositions(values.slice(r * n, (r + 1) * n), k));
      assert.deepEqual(Array.from(result.data), expected);
    }),
    { numRuns: runs(200) },
  );
});

test('topKIndices breaks ties by the lower position and ranks NaN first', () => {
  const x = tensor([1, 3, 3, 0, 3, NaN, 2, NaN], [2, 4]);
  assert.deepEqual(Array.from(interpret(topKIndices(x, 3)).data), [1, 2, 0, 1, 3, 0]);
});

test('topK gives the values at the indices, largest first', () => {
  fc.assert(
    fc.property(topKCase, ({ shape, values, k }) => {
      const n = shape[shape.length - 1];
      const { values: top, indices } = interpret(topK(tensor(values, shape), k));
      const expected = Array.from(indices.data, (index, i) => values[Math.floor(i / k) * n + index]);
      assert.deepEqual(Array.from(top.data), expected);
    }),
    { numRuns: runs(100) },
  );
});

test('topKIndices names itself and the shapes when k does not fit the last axis', () => {
  const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  assert.throws(() => topKIndices(x, 4), /^ShapeError: topKIndices: k = 4 must be an integer in \[0, 3\].*\(input shapes \[2, 3\]\)$/);
  assert.throws(() => topKIndices(x, 1.5), /topKIndices: k = 1.5/);
  assert.throws(() => topKIndices(tensor([1], []), 1), /topKIndices: needs an input of rank 1 or more \(input shapes \[\]\)/);
});

// ---------------------------------------------------------------- weightedKnn against the naive version

const knnCase = fc
  .record({
    trainCount: fc.integer({ min: 1, max: 30 }),
    testCount: fc.integer({ min: 1, max: 12 }),
    dimension: fc.integer({ min: 1, max: 4 }),
    classes: fc.integer({ min: 1, max: 7 }),
    sigma: fc.constantFrom(0.1, 0.3, 1),
    precision: fc.constantFrom(32 as const, 64 as const),
    // Lattice values make exactly tied similarities, so tie-breaking is exercised.
    lattice: fc.boolean(),
  })
  .chain((c) => {
    const value = c.lattice ? fc.integer({ min: -1, max: 1 }) : fc.double({ min: -1, max: 1, noNaN: true });
    return fc.record({
      c: fc.constant(c),
      train: fc.array(value, { minLength: c.trainCount * c.dimension, maxLength: c.trainCount * c.dimension }),
      test: fc.array(value, { minLength: c.testCount * c.dimension, maxLength: c.testCount * c.dimension }),
      trainLabels: fc.array(fc.nat(c.classes - 1), { minLength: c.trainCount, maxLength: c.trainCount }),
      testLabels: fc.array(fc.nat(c.classes - 1), { minLength: c.testCount, maxLength: c.testCount }),
    });
  })
  .chain((drawn) => {
    // k at most the smallest class or beyond the largest, so both sides of a class's size occur.
    const sizes = Array.from({ length: drawn.c.classes }, (_, label) => drawn.trainLabels.filter((l) => l === label).length);
    const smallest = Math.max(1, Math.min(...sizes.filter((s) => s > 0)));
    const largest = Math.max(...sizes);
    const beyond = largest < drawn.c.trainCount ? [fc.integer({ min: largest + 1, max: drawn.c.trainCount })] : [];
    return fc.record({ drawn: fc.constant(drawn), k: fc.oneof(fc.integer({ min: 1, max: smallest }), ...beyond), largest: fc.constant(largest) });
  });

test('weightedKnn agrees with a naive implementation for every chunk size', () => {
  let belowClassSize = 0;
  let aboveClassSize = 0;
  fc.assert(
    fc.property(knnCase, ({ drawn: { c, train, test, trainLabels, testLabels }, k, largest }) => {
      const options = { k, sigma: c.sigma, classes: c.classes };
      const trainFeatures = unitRows(train, c.trainCount, c.dimension, c.precision);
      const testFeatures = unitRows(test, c.testCount, c.dimension, c.precision);
      const expected = naiveWeightedKnn(trainFeatures, trainLabels, testFeatures, testLabels, options);
      if (k > largest) aboveClassSize++;
      else belowClassSize++;

      const votes = interpret(
        knnChunkGraph(tensor(trainFeatures.data, trainFeatures.shape), tensor(trainLabels, [c.trainCount]), tensor(testFeatures.data, testFeatures.shape), options),
      );
      assert.deepEqual(votes.shape, [c.testCount, c.classes]);
      assert.deepEqual(Array.from(votes.data), expected.votes.flat());

      for (const chunkSize of [undefined, 1, 2, 5, c.testCount]) {
        const result = weightedKnn(trainFeatures, Uint8Array.from(trainLabels), testFeatures, testLabels, { ...options, chunkSize });
        assert.deepEqual(Array.from(result.predictions), expected.predictions, `chunk size ${chunkSize}`);
        assert.equal(result.top1, expected.top1, `chunk size ${chunkSize}`);
        assert.equal(result.top5, expected.top5, `chunk size ${chunkSize}`);
      }
    }),
    { numRuns: runs(100) },
  );
  assert.ok(belowClassSize > 0 && aboveClassSize > 0, `k below a class's size ${belowClassSize} times, above ${aboveClassSize} times`);
});

test('weightedKnn rejects inputs that do not fit together', () => {
  const features = unitRows([1, 0, 0, 1, 1, 1], 3, 2, 64);
  assert.throws(() => weightedKnn(features, [0, 1, 0], features, [0, 1, 0], { k: 4 }), /k = 4 must be an integer in \[1, 3\]/);
  assert.throws(() => weightedKnn(features, [0, 1, 0], unitRows([1, 0, 0], 1, 3, 64), [0], { k: 1 }), /differ in dimension/);
  assert.throws(() => weightedKnn(features, [0, 1, 2], features, [0, 1, 0], { k: 1, classes: 2 }), /trainLabels\[2\] = 2 is not a class in \[0, 2\)/);
  assert.throws(() => weightedKnn(features, [0, 1], features, [0, 1, 0], { k: 1 }), /2 trainLabels for 3 rows/);
});

// ---------------------------------------------------------------- sanity

test('well-separated clusters give 100% top-1 with the default k = 200 and sigma = 0.1', () => {
  const random = mulberry32(7);
  const centres = Array.from({ length: 10 }, () => Array.from({ length: 32 }, () => gaussian(random)));
  const trainLabels = Array.from({ length: 500 }, (_, i) => i % 10);
  const testLabels = randomLabels(random, 200, 10);
  const result = weightedKnn(clustered(random, centres, trainLabels, 0.1), trainLabels, clustered(random, centres, testLabels, 0.1), testLabels);
  assert.equal(result.top1, 1);
  assert.equal(result.top5, 1);
  assert.deepEqual(Array.from(result.predictions), testLabels);
});

test('features equal to one-hot class codes give perfect accuracy', () => {
  const random = mulberry32(11);
  const classes = 10;
  const oneHot = (labels: readonly number[]) => unitRows(labels.flatMap((l) => Array.from({ length: classes }, (_, c) => (c === l ? 1 : 0))), labels.length, classes, 32);
  const trainLabels = randomLabels(random, 300, classes);
  const testLabels = randomLabels(random, 100, classes);
  const result = weightedKnn(oneHot(trainLabels), Uint8Array.from(trainLabels), oneHot(testLabels), testLabels, { k: 50 });
  assert.deepEqual([result.top1, result.top5], [1, 1]);
});

test('random features give about chance accuracy', () => {
  const random = mulberry32(13);
  const dimension = 16;
  const features = (count: number) => unitRows(Array.from({ length: count * dimension }, () => gaussian(random)), count, dimension, 32);
  const result = weightedKnn(features(2000), randomLabels(random, 2000, 10), features(500), randomLabels(random, 500, 10));
  // Chance is 0.1 and 0.5; the standard errors over 500 test rows are about 0.013 and 0.022.
  assert.ok(result.top1 > 0.05 && result.top1 < 0.16, `top-1 ${result.top1}`);
  assert.ok(result.top5 > 0.4 && result.top5 < 0.6, `top-5 ${result.top5}`);
});

test('the compiled evaluation agrees with the interpreted one (float32 against float64)', async () => {
  const random = mulberry32(19);
  const dimension = 16;
  const centres = Array.from({ length: 10 }, () => Array.from({ length: dimension }, () => gaussian(random)));
  const trainLabels = randomLabels(random, 600, 10);
  const testLabels = randomLabels(random, 150, 10);
  // Loose clusters: many test rows sit between classes, so the votes are far from trivial.
  const train = clustered(random, centres, trainLabels, 1.2);
  const test = clustered(random, centres, testLabels, 1.2);
  for (const chunkSize of [64, 150]) {
    const interpreted = weightedKnn(train, trainLabels, test, testLabels, { k: 50, chunkSize });
    const warnings: string[] = [];
    const compiled = await weightedKnnCompiled(train, trainLabels, test, testLabels, { k: 50, chunkSize, backend: 'native', onWarning: (m) => warnings.push(m) });
    // Nothing degrades silently: the top-k selection, which has no kernel, is said to run on the host, once.
    assert.equal(warnings.filter((m) => /topKIndices .*runs on the host/.test(m)).length, 1, warnings.join('\n'));
    const agree = interpreted.predictions.filter((p, i) => p === compiled.predictions[i]).length;
    // Only a near-tie in similarity or votes may rank differently in float32.
    assert.ok(agree >= testLabels.length - 2, `${agree} of ${testLabels.length} predictions agree (chunk ${chunkSize})`);
    assert.ok(Math.abs(interpreted.top1 - compiled.top1) <= 2 / testLabels.length);
    assert.ok(interpreted.top1 > 0.3 && interpreted.top1 < 0.99, `top-1 ${interpreted.top1}`);
  }
});

// ---------------------------------------------------------------- speed (printed, never asserted)

test('speed: 10,000 train x 1,000 test x 128-d through interpret', (t) => {
  const random = mulberry32(17);
  const dimension = 128;
  const features = (count: number) => unitRows(Array.from({ length: count * dimension }, () => gaussian(random)), count, dimension, 32);
  const train = features(10_000);
  const test = features(1_000);
  const start = performance.now();
  const result = weightedKnn(train, randomLabels(random, 10_000, 10), test, randomLabels(random, 1_000, 10));
  const seconds = (performance.now() - start) / 1000;
  t.diagnostic(`weightedKnn 10,000 x 1,000 x 128 (k = 200, default chunks) through interpret: ${seconds.toFixed(2)} s`);
  console.log(`# weightedKnn 10,000 x 1,000 x 128 through interpret: ${seconds.toFixed(2)} s`);
  assert.equal(result.predictions.length, 1_000);
});
