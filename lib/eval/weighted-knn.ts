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
import { type BackendName, compile } from '../compile/index.ts';

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

interface KnnPlan extends KnnVoteOptions {
  readonly trainCount: number;
  readonly testCount: number;
  readonly dimension: number;
  readonly chunkSize: number;
  /** Classes ranked per test row: five, or all of them when there are fewer. */
  readonly ranked: number;
}

/** Checks the inputs of a weighted kNN evaluation and settles its options. */
const planKnn = (
  trainFeatures: FeatureMatrix,
  trainLabels: Labels,
  testFeatures: FeatureMatrix,
  testLabels: Labels,
  options: WeightedKnnOptions,
): KnnPlan => {
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
  return { k, sigma, classes, trainCount, testCount, dimension, chunkSize, ranked: Math.min(5, classes) };
};

/** The chunks of test rows, [start, stop). */
const chunksOf = ({ testCount, chunkSize }: KnnPlan): [number, number][] =>
  Array.from({ length: Math.ceil(testCount / chunkSize) }, (_, i) => [i * chunkSize, Math.min(testCount, (i + 1) * chunkSize)]);

/** Tallies the ranked classes of every test row into predictions and accuracies. */
const tally = (plan: KnnPlan, testLabels: Labels, rankings: readonly { start: number; ranking: ArrayLike<number> }[]): WeightedKnnResult => {
  const predictions = new Int32Array(plan.testCount);
  let top1Hits = 0;
  let top5Hits = 0;
  for (const { start, ranking } of rankings)
    for (let row = 0; row * plan.ranked < ranking.length; row++) {
      const label = testLabels[start + row];
      const classesByVote = Array.from({ length: plan.ranked }, (_, r) => ranking[row * plan.ranked + r]);
      predictions[start + row] = classesByVote[0];
      if (classesByVote[0] === label) top1Hits++;
      if (classesByVote.includes(label)) top5Hits++;
    }
  return { top1: top1Hits / plan.testCount, top5: top5Hits / plan.testCount, predictions };
};

/** The classes of each test row of a chunk, ranked by vote: the chunk's whole graph. */
const rankedClassesGraph = (train: Tensor, labels: Tensor, test: Tensor, plan: KnnPlan): Tensor =>
  topKIndices(knnChunkGraph(train, labels, test, plan), plan.ranked);

/**
 * Weighted kNN accuracy of test features against training features (rows L2-normalised by the
 * caller), through the float64 interpreter. The test set is processed in chunks of rows;
 * chunking does not change the result.
 */
export const weightedKnn = (
  trainFeatures: FeatureMatrix,
  trainLabels: Labels,
  testFeatures: FeatureMatrix,
  testLabels: Labels,
  options: WeightedKnnOptions = {},
): WeightedKnnResult => {
  const plan = planKnn(trainFeatures, trainLabels, testFeatures, testLabels, options);
  const train = tensor(trainFeatures.data, [plan.trainCount, plan.dimension]);
  const labels = tensor(trainLabels, [plan.trainCount]);
  const rankings = chunksOf(plan).map(([start, stop]) => {
    const test = tensor(testFeatures.data.subarray(start * plan.dimension, stop * plan.dimension), [stop - start, plan.dimension]);
    return { start, ranking: interpret(rankedClassesGraph(train, labels, test, plan)).data };
  });
  return tally(plan, testLabels, rankings);
};

/**
 * The same evaluation compiled: each chunk's graph (similarity matmul, top-k, votes) runs as
 * compiled kernels in float32, traced once for the full chunks and once for a shorter last one.
 * The ranking of similarities may differ from the float64 evaluation on near-ties.
 */
export const weightedKnnCompiled = async (
  trainFeatures: FeatureMatrix,
  trainLabels: Labels,
  testFeatures: FeatureMatrix,
  testLabels: Labels,
  options: WeightedKnnOptions & { readonly backend?: BackendName; readonly onWarning?: (message: string) => void } = {},
): Promise<WeightedKnnResult> => {
  const plan = planKnn(trainFeatures, trainLabels, testFeatures, testLabels, options);
  // Degradations (a backend passed over, a host step) go to onWarning, by default stderr.
  const program = compile(
    ({ train, labels, test }: { train: Tensor; labels: Tensor; test: Tensor }) => rankedClassesGraph(train, labels, test, plan),
    { backend: options.backend, onWarning: options.onWarning },
  );
  try {
    const train = { shape: [plan.trainCount, plan.dimension], data: trainFeatures.data };
    const labels = { shape: [plan.trainCount], data: Float32Array.from(trainLabels) };
    const rankings: { start: number; ranking: Float32Array }[] = [];
    for (const [start, stop] of chunksOf(plan)) {
      const test = { shape: [stop - start, plan.dimension], data: testFeatures.data.subarray(start * plan.dimension, stop * plan.dimension) };
      rankings.push({ start, ranking: (await program({ train, labels, test })).data });
    }
    return tally(plan, testLabels, rankings);
  } finally {
    await program.destroy();
  }
};
