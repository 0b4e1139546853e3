// Weighted k-nearest-neighbour evaluation of an embedding (Wu et al. 2018, as used by Ye et al.
// 2019): rows are L2-normalised, so cosine similarity is a matrix product; the k most similar
// training features vote for their labels with weight exp(similarity / sigma); classes are ranked
// by total vote, and top-1 / top-5 accuracy count the test features whose label ranks first / in
// the first five.
//
// The vote of one chunk of test rows is a graph (`knnChunkGraph`), built from tensors and
// evaluated here by `interpret`; the loop over chunks stays on the host, so the full
// test x train similarity matrix never exists at once and a compiled evaluator can replace
// `interpret` without touching the graph.

import { formatShape, ShapeError } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { arange, tensor } from '../constants.ts';
import { interpret } from '../interpret.ts';
import { div } from '../primitives/div.ts';
import { equal } from '../primitives/equal.ts';
import { exp } from '../primitives/exp.ts';
import { gather } from '../primitives/gather.ts';
import { matmul } from '../primitives/matmul.ts';
import { mul } from '../primitives/mul.ts';
import { reshape } from '../primitives/reshape.ts';
import { sum } from '../primitives/sum.ts';
import { topKIndices } from '../primitives/top-k-indices.ts';
import { matrixTranspose } from '../primitives/transpose.ts';
import { topK } from '../composites/top-k.ts';

/**
 * Features as host data, one row per instance: what a compiled run (float32) or `interpret`
 * (float64) hands back. Not Tensors: a tensor is a graph whose evaluation, and the choice of
 * evaluator, belongs to the caller, and the chunk loop must slice rows of concrete data.
 */
export interface FeatureMatrix {
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array;
}

/** Class labels, one per row, integers in [0, classes). */
export type Labels = Uint8Array | readonly number[];

export interface KnnVoteOptions {
  /** Neighbours that vote (the literature's 200). */
  readonly k: number;
  /** Temperature of the vote weights exp(similarity / sigma) (0.1). */
  readonly sigma: number;
  readonly classes: number;
}

export interface WeightedKnnOptions extends Partial<KnnVoteOptions> {
  /** Test rows per chunk; by default as many as keep one chunk's similarity block under 64 MiB in float64. */
  readonly chunkSize?: number;
}

export interface WeightedKnnResult {
  /** Fraction of test rows whose label gets the largest vote. */
  readonly top1: number;
  /** Fraction of test rows whose label is among the five largest votes (all classes when fewer than five). */
  readonly top5: number;
  /** The top-1 class of each test row. */
  readonly predictions: Int32Array;
}

export const defaultKnnVoteOptions: KnnVoteOptions = { k: 200, sigma: 0.1, classes: 10 };

const similarityBlockBytes = 64 * 1024 * 1024;

/** The most test rows whose similarities to `trainCount` training rows fit in 64 MiB of float64. */
export const defaultChunkSize = (trainCount: number): number => Math.max(1, Math.floor(similarityBlockBytes / (8 * Math.max(1, trainCount))));

/**
 * The class votes of a chunk of test rows: [m, d] test features against [n, d] training features
 * and their [n] labels (as floats) give [m, classes] votes, each the sum of exp(similarity / sigma)
 * over the k most similar training rows of that class (ties in similarity go to the lower row).
 */
export const knnChunkGraph = (
  trainFeatures: Tensor,
  trainLabels: Tensor,
  testFeatures: Tensor,
  { k, sigma, classes }: KnnVoteOptions,
): Tensor => {
  const rows = testFeatures.shape[0];
  const similarity = matmul(testFeatures, matrixTranspose(trainFeatures));
  const nearest = topK(similarity, k);
  const weights = exp(div(nearest.values, sigma));
  const neighbourLabels = gather(trainLabels, nearest.indices);
  // One-hot of each neighbour's label, [m, k, classes], so the vote is one weighted sum.
  const isClass = equal(reshape(neighbourLabels, [rows, k, 1]), reshape(arange(classes), [1, 1, classes]));
  return sum(mul(isClass, reshape(weights, [rows, k, 1])), 1);
};

const rowsAndWidth = (name: string, features: FeatureMatrix): [number, number] => {
  const { shape, data } = features;
  if (shape.length !== 2 || shape[0] * shape[1] !== data.length)
    throw new ShapeError(`weightedKnn: ${name} must be a [rows, dimension] matrix filled by its data, got shape ${formatShape(shape)} with ${data.length} values`);
  return [shape[0], shape[1]];
};

const checkLabels = (name: string, labels: Labels, rows: number, classes: number): void => {
  if (labels.length !== rows) throw new RangeError(`weightedKnn: ${labels.length} ${name} for ${rows} rows`);
  for (let i = 0; i < labels.length; i++)
    if (!Number.isInteger(labels[i]) || labels[i] < 0 || labels[i] >= classes)
      throw new RangeError(`weightedKnn: ${name}[${i}] = ${labels[i]} is not a class in [0, ${classes})`);
};

/**
 * Weighted kNN accuracy of test features against training features (rows L2-normalised by the
 * caller). The test set is processed in chunks of rows; chunking does not change the result.
 */
export const weightedKnn = (
  trainFeatures: FeatureMatrix,
  trainLabels: Labels,
  testFeatures: FeatureMatrix,
  testLabels: Labels,
  options: WeightedKnnOptions = {},
): WeightedKnnResult => {
  const { k, sigma, classes } = { ...defaultKnnVoteOptions, ...options };
  const [trainCount, dimension] = rowsAndWidth('trainFeatures', trainFeatures);
  const [testCount, testDimension] = rowsAndWidth('testFeatures', testFeatures);
  if (dimension !== testDimension)
    throw new ShapeError(`weightedKnn: training features ${formatShape(trainFeatures.shape)} and test features ${formatShape(testFeatures.shape)} differ in dimension`);
  if (!Number.isInteger(k) || k < 1 || k > trainCount)
    throw new RangeError(`weightedKnn: k = ${k} must be an integer in [1, ${trainCount}], the number of training rows`);
  if (!Number.isInteger(classes) || classes < 1) throw new RangeError(`weightedKnn: classes = ${classes} must be a positive integer`);
  if (!(sigma > 0)) throw new RangeError(`weightedKnn: sigma = ${sigma} must be positive`);
  if (testCount === 0) throw new RangeError('weightedKnn: no test features to evaluate');
  checkLabels('trainLabels', trainLabels, trainCount, classes);
  checkLabels('testLabels', testLabels, testCount, classes);
  const chunkSize = options.chunkSize ?? defaultChunkSize(trainCount);
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`weightedKnn: chunkSize = ${chunkSize} must be a positive integer`);

  const train = tensor(trainFeatures.data, [trainCount, dimension]);
  const labels = tensor(trainLabels, [trainCount]);
  const ranked = Math.min(5, classes);
  const predictions = new Int32Array(testCount);
  let top1Hits = 0;
  let top5Hits = 0;
  for (let start = 0; start < testCount; start += chunkSize) {
    const stop = Math.min(testCount, start + chunkSize);
    const test = tensor(testFeatures.data.subarray(start * dimension, stop * dimension), [stop - start, dimension]);
    const votes = knnChunkGraph(train, labels, test, { k, sigma, classes });
    const ranking = interpret(topKIndices(votes, ranked)).data;
    for (let row = 0; row < stop - start; row++) {
      const label = testLabels[start + row];
      const classesByVote = ranking.subarray(row * ranked, (row + 1) * ranked);
      predictions[start + row] = classesByVote[0];
      if (classesByVote[0] === label) top1Hits++;
      if (classesByVote.includes(label)) top5Hits++;
    }
  }
  return { top1: top1Hits / testCount, top5: top5Hits / testCount, predictions };
};
