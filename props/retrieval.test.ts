// Retrieval and clustering metrics for unseen categories (lib/eval): Recall@K against a plain-JS
// reference (a full sort of every row's similarities) for several chunk sizes, k-means against
// plain-JS checks of what Lloyd's algorithm promises, NMI against hand-worked values and its
// invariances, and the compiled evaluations against the interpreted ones.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { key } from '../lib/random/index.ts';
import { kMeans, kMeansPlusPlusSeeds, normalizedMutualInformation, recallAtK } from '../lib/eval/index.ts';
import { mulberry32 } from '../lib/data/index.ts';
import { runs } from './runs.ts';

type Matrix = { shape: [number, number]; data: Float64Array | Float32Array };

const gaussian = (random: () => number): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

/** `labels.length` points, each its label's centre plus noise of the given spread. */
const clustered = (random: () => number, centres: number[][], labels: readonly number[], spread: number): Matrix => {
  const d = centres[0].length;
  return { shape: [labels.length, d], data: Float32Array.from(labels.flatMap((label) => centres[label].map((c) => c + spread * gaussian(random)))) };
};

const randomCentres = (random: () => number, count: number, d: number, scale = 1): number[][] =>
  Array.from({ length: count }, () => Array.from({ length: d }, () => scale * gaussian(random)));

// ---------------------------------------------------------------- Recall@K

/**
 * Recall@K as the papers state it: normalise the rows, sort each row's others by similarity (ties
 * to the lower row), and look for its label among the first K. Sums run in the order of the
 * language's reference loops, so ties are ties in both.
 */
const naiveRecall = (x: Matrix, labels: readonly number[], ks: readonly number[]): number[] => {
  const [n, d] = x.shape;
  const unit = Array.from({ length: n }, (_, i) => {
    let squares = 0;
    for (let p = 0; p < d; p++) squares += x.data[i * d + p] ** 2;
    const norm = Math.sqrt(Math.max(squares, 1e-24));
    return Array.from({ length: d }, (_, p) => x.data[i * d + p] / norm);
  });
  return ks.map((k) => {
    let found = 0;
    for (let i = 0; i < n; i++) {
      const others = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i).map((j) => {
        let dot = 0;
        for (let p = 0; p < d; p++) dot += unit[i][p] * unit[j][p];
        return { j, dot };
      });
      others.sort((a, b) => b.dot - a.dot || a.j - b.j);
      if (others.slice(0, k).some(({ j }) => labels[j] === labels[i])) found++;
    }
    return found / n;
  });
};

const recallCase = fc
  .record({ n: fc.integer({ min: 2, max: 14 }), d: fc.integer({ min: 1, max: 4 }), classes: fc.integer({ min: 1, max: 5 }), lattice: fc.boolean() })
  .chain((c) =>
    fc.record({
      c: fc.constant(c),
      // Lattice values make exactly tied similarities, so the tie-breaking is exercised.
      values: fc.array(c.lattice ? fc.integer({ min: -1, max: 1 }) : fc.double({ min: -1, max: 1, noNaN: true }), { minLength: c.n * c.d, maxLength: c.n * c.d }),
      labels: fc.array(fc.integer({ min: 0, max: c.classes - 1 }), { minLength: c.n, maxLength: c.n }),
      ks: fc.uniqueArray(fc.integer({ min: 1, max: c.n + 1 }), { minLength: 1, maxLength: 4 }),
      chunkSize: fc.integer({ min: 1, max: c.n }),
    }),
  );

test('recallAtK (interpreted) agrees with a full sort of every row, for every chunk size', async () => {
  await fc.assert(
    fc.asyncProperty(recallCase, async ({ c, values, labels, ks, chunkSize }) => {
      const x: Matrix = { shape: [c.n, c.d], data: Float64Array.from(values) };
      const expected = naiveRecall(x, labels, ks);
      const result = await recallAtK(x, labels, ks, { interpreted: true, chunkSize });
      assert.deepEqual(result.map(({ k }) => k), ks);
      assert.deepEqual(result.map(({ recall }) => recall), expected);
    }),
    { numRuns: runs(150) },
  );
});

test('Recall@K never falls as K grows', async () => {
  await fc.assert(
    fc.asyncProperty(recallCase, async ({ c, values, labels }) => {
      const ks = Array.from({ length: c.n + 1 }, (_, i) => i + 1);
      const recall = (await recallAtK({ shape: [c.n, c.d], data: Float64Array.from(values) }, labels, ks, { interpreted: true })).map((r) => r.recall);
      for (let i = 1; i < recall.length; i++) assert.ok(recall[i] >= recall[i - 1], `R@${i + 1} ${recall[i]} < R@${i} ${recall[i - 1]}`);
      // At K = n - 1 every other row is looked at: found exactly when a row's label occurs twice.
      const repeated = labels.filter((l) => labels.filter((m) => m === l).length > 1).length / c.n;
      assert.equal(recall[c.n - 2] ?? repeated, repeated);
    }),
    { numRuns: runs(100) },
  );
});

test('Recall@K worked by hand: five points on the unit circle', async () => {
  // Angles 0, 0.1, 0.3, 1.0, 1.05 with labels a, b, a, b, c: the nearest others, in order, are
  //   0: 1 (b), 2 (a)          found at K = 2
  //   1: 0 (a), 2 (a), 3 (b)   found at K = 3 (two a rows first)
  //   2: 1 (b), 0 (a)          found at K = 2
  //   3: 4 (c), 2 (a), 1 (b)   found at K = 3
  //   4: 3 (b), 2 (a), ...     never (no other c)
  const angles = [0, 0.1, 0.3, 1.0, 1.05];
  const x: Matrix = { shape: [5, 2], data: Float64Array.from(angles.flatMap((a) => [Math.cos(a), Math.sin(a)])) };
  const result = await recallAtK(x, [0, 1, 0, 1, 2], [1, 2, 3, 4, 8], { interpreted: true });
  assert.deepEqual(result.map((r) => r.recall), [0, 2 / 5, 4 / 5, 4 / 5, 4 / 5]);
  // Scaling a row changes no cosine.
  const scaled = { shape: [5, 2] as [number, number], data: x.data.map((v, i) => (i < 2 ? 7 * v : v)) };
  assert.deepEqual(await recallAtK(scaled, [0, 1, 0, 1, 2], [1, 2, 3, 4, 8], { interpreted: true }), result);
});

test('recallAtK rejects what does not fit', async () => {
  const x: Matrix = { shape: [3, 2], data: Float64Array.of(1, 0, 0, 1, 1, 1) };
  await assert.rejects(recallAtK(x, [0, 1], [1]), /recallAtK: 2 labels for 3 rows/);
  await assert.rejects(recallAtK(x, [0, 1, 0], [0]), /recallAtK: K = 0 must be a positive integer/);
  await assert.rejects(recallAtK(x, [0, 1, 0], []), /recallAtK: no K given/);
  await assert.rejects(recallAtK({ shape: [3, 3], data: x.data }, [0, 1, 0]), /recallAtK: embeddings must be a \[rows, dimension\] matrix/);
});

test('compiled Recall@K agrees with the interpreted one on loose clusters (float32 against float64)', async () => {
  const random = mulberry32(23);
  const labels = Array.from({ length: 300 }, () => Math.floor(random() * 6));
  const x = clustered(random, randomCentres(random, 6, 16), labels, 1.1);
  const warnings: string[] = [];
  for (const chunkSize of [64, 300]) {
    const interpreted = await recallAtK(x, labels, [1, 2, 4, 8], { interpreted: true, chunkSize });
    const compiled = await recallAtK(x, labels, [1, 2, 4, 8], { backend: 'native', chunkSize, onWarning: (m) => warnings.push(m) });
    // Only a near-tie in similarity may rank differently in float32: a row or two at most.
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(interpreted[i].recall - compiled[i].recall) <= 2 / 300, `${JSON.stringify(interpreted)} vs ${JSON.stringify(compiled)}`);
    assert.ok(interpreted[0].recall > 0.3 && interpreted[0].recall < 0.99, `R@1 ${interpreted[0].recall}: the clusters should be neither trivial nor hopeless`);
  }
  // The whole evaluation stays in kernels: nothing steps out to the host.
  assert.deepEqual(warnings.filter((m) => /runs on the host/.test(m)), []);
});

// ---------------------------------------------------------------- k-means

/** Whether two partitions are the same up to renaming the parts. */
const samePartition = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => {
  const forward = new Map<number, number>();
  const backward = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    if ((forward.get(a[i]) ?? b[i]) !== b[i] || (backward.get(b[i]) ?? a[i]) !== a[i]) return false;
    forward.set(a[i], b[i]);
    backward.set(b[i], a[i]);
  }
  return true;
};

const squaredDistance = (x: Matrix, i: number, centroids: ArrayLike<number>, c: number): number => {
  const d = x.shape[1];
  let total = 0;
  for (let p = 0; p < d; p++) total += (x.data[i * d + p] - centroids[c * d + p]) ** 2;
  return total;
};

test('k-means recovers well-separated clusters exactly, interpreted and compiled', async () => {
  const random = mulberry32(29);
  for (const [k, d] of [[3, 2], [6, 16]]) {
    const labels = Array.from({ length: 240 }, (_, i) => i % k);
    const x = clustered(random, randomCentres(random, k, d, 10), labels, 0.3);
    for (const interpreted of [true, false]) {
      const result = await kMeans(x, k, { key: key(k), interpreted, backend: 'native', onWarning: () => undefined });
      assert.ok(samePartition(result.assignments, labels), `k = ${k}, ${interpreted ? 'interpreted' : 'compiled'}`);
      assert.equal(normalizedMutualInformation(labels, result.assignments), 1);
    }
  }
});

test('k-means ends at a fixed point of Lloyd: nearest centroids, centroids the means, inertia their sum', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 5, max: 40 }), async (seed, k, n) => {
      const random = mulberry32(seed);
      const x: Matrix = { shape: [n, 3], data: Float64Array.from({ length: n * 3 }, () => gaussian(random)) };
      const { assignments, centroids, inertia, iterations } = await kMeans(x, k, { key: key(seed), interpreted: true, restarts: 3 });
      assert.ok(iterations < 100, 'converged');
      let total = 0;
      for (let i = 0; i < n; i++) {
        const distances = Array.from({ length: k }, (_, c) => squaredDistance(x, i, centroids.data, c));
        // Nearest, up to the rounding of a float64 distance.
        assert.ok(distances[assignments[i]] <= Math.min(...distances) + 1e-9, `point ${i}: ${distances}`);
        total += distances[assignments[i]];
      }
      assert.ok(Math.abs(total - inertia) <= 1e-9 * Math.max(1, total));
      for (let c = 0; c < k; c++) {
        const members = Array.from({ length: n }, (_, i) => i).filter((i) => assignments[i] === c);
        assert.ok(members.length > 0, `cluster ${c} is empty`);
        for (let p = 0; p < 3; p++) {
          const mean = members.reduce((s, i) => s + x.data[i * 3 + p], 0) / members.length;
          assert.ok(Math.abs(mean - centroids.data[c * 3 + p]) < 1e-9);
        }
      }
    }),
    { numRuns: runs(30) },
  );
});

test('k-means is deterministic for a key, and more restarts never do worse than their first', async () => {
  const random = mulberry32(31);
  const x: Matrix = { shape: [120, 4], data: Float64Array.from({ length: 480 }, () => gaussian(random)) };
  const options = { key: key(5), interpreted: true };
  const a = await kMeans(x, 4, options);
  const b = await kMeans(x, 4, options);
  assert.deepEqual(a, b);
  // Restart 0 draws the same seeds whatever the number of restarts.
  const single = await kMeans(x, 4, { ...options, restarts: 1 });
  assert.ok(a.inertia <= single.inertia);
  const inertias = await Promise.all([1, 2, 3, 4, 5, 6].map(async (seed) => (await kMeans(x, 4, { key: key(seed), interpreted: true, restarts: 1 })).inertia));
  // Unstructured points have several local minima: some single restart lands elsewhere, so choosing matters.
  assert.ok(new Set(inertias.map((i) => i.toFixed(6))).size > 1, `inertias ${inertias}`);
});

test('k-means++ seeds one point per well-separated cluster and never repeats a point', () => {
  const random = mulberry32(37);
  const labels = Array.from({ length: 50 }, (_, i) => i % 5);
  const x = clustered(random, randomCentres(random, 5, 3, 100), labels, 0.1);
  for (let trial = 0; trial < 20; trial++) {
    const seeds = kMeansPlusPlusSeeds(x, 5, Array.from({ length: 5 }, () => random()));
    assert.deepEqual(seeds.map((s) => labels[s]).sort(), [0, 1, 2, 3, 4]);
  }
  // Fewer distinct points than k: the coincident points are taken in turn, never one twice.
  const twins: Matrix = { shape: [4, 1], data: Float64Array.of(1, 1, 2, 2) };
  const seeds = kMeansPlusPlusSeeds(twins, 4, [0.1, 0.5, 0.5, 0.5]);
  assert.equal(new Set(seeds).size, 4);
});

test('kMeans rejects what does not fit', async () => {
  const x: Matrix = { shape: [3, 1], data: Float64Array.of(0, 1, 2) };
  await assert.rejects(kMeans(x, 4, { key: key(0) }), /kMeans: k = 4 must be an integer in \[1, 3\]/);
  await assert.rejects(kMeans(x, 2, { key: key(0), restarts: 0 }), /kMeans: restarts = 0 must be a positive integer/);
  await assert.rejects(kMeans(x, 2, { key: key(0), iterations: 1.5 }), /kMeans: iterations = 1.5/);
});

// ---------------------------------------------------------------- NMI

/** NMI the other way round: I = H(Y) + H(C) - H(Y, C), from a dense contingency table. */
const naiveNmi = (labels: readonly number[], clusters: readonly number[]): number => {
  const n = labels.length;
  const entropyOf = (keys: string[]) => {
    const counts = new Map<string, number>();
    for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
    return -[...counts.values()].reduce((h, c) => h + (c / n) * Math.log(c / n), 0);
  };
  const hy = entropyOf(labels.map(String));
  const hc = entropyOf(clusters.map(String));
  const joint = entropyOf(labels.map((l, i) => `${l},${clusters[i]}`));
  return hy + hc === 0 ? 1 : (2 * (hy + hc - joint)) / (hy + hc);
};

const partitionPair = fc.integer({ min: 1, max: 60 }).chain((n) =>
  fc.record({
    labels: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: n, maxLength: n }),
    clusters: fc.array(fc.integer({ min: -2, max: 4 }), { minLength: n, maxLength: n }),
  }),
);

test('NMI agrees with the entropy-difference formula, is symmetric and lies in [0, 1]', () => {
  fc.assert(
    fc.property(partitionPair, ({ labels, clusters }) => {
      const nmi = normalizedMutualInformation(labels, clusters);
      assert.ok(Math.abs(nmi - naiveNmi(labels, clusters)) < 1e-12, `${nmi} vs ${naiveNmi(labels, clusters)}`);
      assert.equal(nmi, normalizedMutualInformation(clusters, labels));
      assert.ok(nmi >= 0 && nmi <= 1);
    }),
    { numRuns: runs(200) },
  );
});

test('NMI is 1 for the same partition under any renaming, and unchanged by renaming either side', () => {
  fc.assert(
    fc.property(partitionPair, fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 8, maxLength: 8 }), ({ labels, clusters }, names) => {
      // A renaming: distinct new names for the values -2..5 that either side holds.
      const distinct = [...new Set(names)];
      fc.pre(distinct.length === 8);
      const rename = (v: number) => distinct[v + 2];
      assert.equal(normalizedMutualInformation(labels, labels.map(rename)), 1);
      assert.ok(Math.abs(normalizedMutualInformation(labels, clusters.map(rename)) - normalizedMutualInformation(labels, clusters)) < 1e-12);
    }),
    { numRuns: runs(100) },
  );
});

test('NMI worked by hand, and near 0 for independent partitions', () => {
  // Y = 000111, C = 001122: I = (2/3) ln 2, H(Y) = ln 2, H(C) = ln 3, so NMI = (4/3) ln 2 / ln 6.
  const nmi = normalizedMutualInformation([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]);
  assert.ok(Math.abs(nmi - ((4 / 3) * Math.LN2) / Math.log(6)) < 1e-15);
  assert.ok(Math.abs(nmi - 0.5158037429793889) < 1e-12, 'scikit-learn gives 0.5158037429793889 for this pair');
  // One part against one part is the same partition; one against several shares nothing.
  assert.equal(normalizedMutualInformation([3, 3, 3], [7, 7, 7]), 1);
  assert.equal(normalizedMutualInformation([3, 3, 3], [0, 1, 2]), 0);
  const random = mulberry32(41);
  const draw = () => Array.from({ length: 20_000 }, () => Math.floor(random() * 5));
  // For independent draws 2I is about (5 - 1)^2 / n = 8e-4 nats against H(Y) + H(C) = 2 ln 5.
  const independent = normalizedMutualInformation(draw(), draw());
  assert.ok(independent < 0.002, `NMI ${independent}`);
  assert.throws(() => normalizedMutualInformation([0, 1], [0]), /normalizedMutualInformation: 2 labels and 1 clusters/);
});
