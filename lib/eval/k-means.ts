// k-means clustering (Lloyd 1982) with k-means++ seeding (Arthur and Vassilvitskii 2007), the
// clustering behind NMI on unseen categories. Each restart seeds from its own random draws,
// then alternates assigning every point to its nearest centroid and moving each centroid to the
// mean of its points, until no assignment changes or the iterations run out; the restart with
// the least inertia (sum of squared distances to the assigned centroids) wins.
//
// The assignment, which reads every point against every centroid each iteration, is a graph of
// the language run over chunks of points (`nearestCentroidGraph`). The seeding (k sequential
// draws, each one pass over the points) and the centroid means are host arithmetic in float64:
// they are a small part of the work, and in float64 a restart's seeds and inertia do not depend
// on the backend that ran the assignments.

import type { Tensor } from '../tensor.ts';
import { interpret } from '../interpret.ts';
import { add } from '../primitives/add.ts';
import { matmul } from '../primitives/matmul.ts';
import { mul } from '../primitives/mul.ts';
import { reshape } from '../primitives/reshape.ts';
import { sum } from '../primitives/sum.ts';
import { matrixTranspose } from '../primitives/transpose.ts';
import { square } from '../composites/activations.ts';
import { type Key } from '../random/key.ts';
import { uniform } from '../random/distributions.ts';
import { argmin } from './arg-extreme.ts';
import { chunkRanges, type EvaluationOptions, type HostArray, matrixShape, rowsOf, withChunkProgram } from './chunk-program.ts';

export interface KMeansOptions extends EvaluationOptions {
  /** Every random choice derives from it: the same key gives the same clustering. */
  readonly key: Key;
  /** The most Lloyd iterations of a restart (100 by default); it stops earlier once no assignment changes. */
  readonly iterations?: number;
  /** Seedings tried, the best kept by inertia (10 by default, as scikit-learn's classic n_init). */
  readonly restarts?: number;
  /** Points per chunk of the assignment; by default as many as keep a chunk under 64 MiB in float64. */
  readonly chunkSize?: number;
}

export interface KMeansResult {
  /** The cluster of each point, in [0, k). */
  readonly assignments: Int32Array;
  /** [k, d], row c the mean of cluster c's points. */
  readonly centroids: { readonly shape: readonly [number, number]; readonly data: Float64Array };
  /** The sum of squared distances from each point to its centroid. */
  readonly inertia: number;
  /** Lloyd iterations the winning restart ran. */
  readonly iterations: number;
}

const chunkBytes = 64 * 1024 * 1024;

/**
 * The nearest of `centroids` [k, d] to each of `points` [m, d], as [m] positions (the lower on
 * ties): argmin over c of |c|^2 - 2 p.c, the squared distance less the |p|^2 every c shares.
 */
export const nearestCentroidGraph = ({ points, centroids }: { points: Tensor; centroids: Tensor }): Tensor => {
  const [k] = centroids.shape;
  const centroidNorms = reshape(sum(square(centroids), 1), [1, k]);
  return argmin(add(mul(matmul(points, matrixTranspose(centroids)), -2), centroidNorms));
};

const squaredDistance = (a: ArrayLike<number>, aStart: number, b: ArrayLike<number>, bStart: number, d: number): number => {
  let total = 0;
  for (let j = 0; j < d; j++) total += (a[aStart + j] - b[bStart + j]) ** 2;
  return total;
};

/** The index of the first entry whose running total passes `target` (the last when rounding leaves none). */
const pickByWeight = (weights: Float64Array, target: number): number => {
  let running = 0;
  for (let i = 0; i < weights.length; i++) {
    running += weights[i];
    if (running > target) return i;
  }
  return weights.length - 1;
};

/**
 * k-means++: the first seed uniformly, each next one with probability proportional to its squared
 * distance to the nearest seed so far (`draws` are k uniforms in [0, 1)). When every point
 * sits on a seed already (fewer distinct points than k), the next unused point is taken.
 */
export const kMeansPlusPlusSeeds = (points: HostArray, k: number, draws: ArrayLike<number>): number[] => {
  const [n, d] = points.shape;
  const seeds = [Math.min(n - 1, Math.floor(draws[0] * n))];
  const nearest = new Float64Array(n).fill(Infinity);
  while (seeds.length < k) {
    const last = seeds[seeds.length - 1];
    let total = 0;
    for (let i = 0; i < n; i++) {
      nearest[i] = Math.min(nearest[i], squaredDistance(points.data, i * d, points.data, last * d, d));
      total += nearest[i];
    }
    seeds.push(total > 0 ? pickByWeight(nearest, draws[seeds.length] * total) : Array.from({ length: n }, (_, i) => i).find((i) => !seeds.includes(i))!);
  }
  return seeds;
};

/** Each cluster's mean; an emptied cluster takes the point farthest from its own centroid, so k clusters remain. */
const updateCentroids = (points: HostArray, assignments: Int32Array, previous: Float64Array, k: number): Float64Array<ArrayBuffer> => {
  const [n, d] = points.shape;
  const centroids = new Float64Array(k * d);
  const sizes = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const c = assignments[i];
    sizes[c]++;
    for (let j = 0; j < d; j++) centroids[c * d + j] += points.data[i * d + j];
  }
  let ownDistances: Float64Array | undefined;
  for (let c = 0; c < k; c++) {
    if (sizes[c] > 0) {
      for (let j = 0; j < d; j++) centroids[c * d + j] /= sizes[c];
      continue;
    }
    ownDistances ??= Float64Array.from({ length: n }, (_, i) => squaredDistance(points.data, i * d, previous, assignments[i] * d, d));
    const farthest = ownDistances.reduce((best, distance, i) => (distance > ownDistances![best] ? i : best), 0);
    // Taken once: a second emptied cluster takes the next farthest point.
    ownDistances[farthest] = -Infinity;
    for (let j = 0; j < d; j++) centroids[c * d + j] = points.data[farthest * d + j];
    assignments[farthest] = c;
  }
  return centroids;
};

const inertiaOf = (points: HostArray, assignments: Int32Array, centroids: Float64Array): number => {
  const [n, d] = points.shape;
  let total = 0;
  for (let i = 0; i < n; i++) total += squaredDistance(points.data, i * d, centroids, assignments[i] * d, d);
  return total;
};

const sameAssignments = (a: Int32Array, b: ArrayLike<number>, start: number): boolean => {
  for (let i = 0; i < b.length; i++) if (a[start + i] !== b[i]) return false;
  return true;
};

/**
 * k-means of `points` [n, d] into `k` clusters: k-means++ seeding from `key`, Lloyd iterations,
 * the best of `restarts` by inertia. Deterministic for a key (and a backend: the compiled
 * assignment is float32, `interpreted: true` the float64 reference).
 */
export const kMeans = async (points: HostArray, k: number, options: KMeansOptions): Promise<KMeansResult> => {
  const [n, d] = matrixShape('kMeans', 'points', points);
  const { iterations = 100, restarts = 10 } = options;
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`kMeans: k = ${k} must be an integer in [1, ${n}], the number of points`);
  if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError(`kMeans: iterations = ${iterations} must be a positive integer`);
  if (!Number.isInteger(restarts) || restarts < 1) throw new RangeError(`kMeans: restarts = ${restarts} must be a positive integer`);
  const chunkSize = options.chunkSize ?? Math.max(1, Math.floor(chunkBytes / (8 * Math.max(d, k))));
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`kMeans: chunkSize = ${chunkSize} must be a positive integer`);
  const draws = interpret(uniform(options.key, [restarts, k])).data;
  const chunks = chunkRanges(n, chunkSize);

  return withChunkProgram<{ points: HostArray; centroids: HostArray }, KMeansResult>(nearestCentroidGraph, options, async (run) => {
    let best: KMeansResult | undefined;
    for (let restart = 0; restart < restarts; restart++) {
      const seeds = kMeansPlusPlusSeeds(points, k, draws.subarray(restart * k, (restart + 1) * k));
      let centroids: Float64Array<ArrayBuffer> = Float64Array.from({ length: k * d }, (_, i) => points.data[seeds[Math.floor(i / d)] * d + (i % d)]);
      const assignments = new Int32Array(n).fill(-1);
      let ran = 0;
      for (let changed = true; changed && ran < iterations; ran++) {
        changed = false;
        for (const [start, stop] of chunks) {
          const nearest = await run({ points: rowsOf(points, start, stop), centroids: { shape: [k, d], data: centroids } });
          if (!sameAssignments(assignments, nearest, start)) {
            changed = true;
            for (let i = 0; i < nearest.length; i++) assignments[start + i] = nearest[i];
          }
        }
        if (changed) centroids = updateCentroids(points, assignments, centroids, k);
      }
      const inertia = inertiaOf(points, assignments, centroids);
      if (best === undefined || inertia < best.inertia)
        best = { assignments, centroids: { shape: [k, d], data: centroids }, inertia, iterations: ran };
    }
    return best!;
  });
};
