// Retrieval Recall@K, the deep-metric-learning measure of an embedding on unseen categories
// (Song et al. 2016; Ye et al. 2019 on CUB-200, Cars-196, Products): each row queries all the
// others by cosine similarity, itself excluded, and counts as found at K when one of its K nearest
// others has its label. Recall@K is the fraction of rows found at K, so it never falls as K grows.
//
// A row is found at K exactly when fewer than K other rows rank before its nearest same-label
// row, so one number per row settles every K: that rank. A chunk of query rows is one graph
// (`recallChunkGraph`): similarities against every row, the best same-label similarity and its
// position, and a count of the other-label rows ranked before it: comparisons and sums that stay
// in the compiled kernels, where a top-k would step out to the host. The loop over chunks stays
// on the host, so 50,000 rows never hold an N x N matrix: a chunk holds chunkSize x N.

import type { Tensor } from '../tensor.ts';
import { arange } from '../constants.ts';
import { add } from '../primitives/add.ts';
import { equal } from '../primitives/equal.ts';
import { gather } from '../primitives/gather.ts';
import { greater } from '../primitives/greater.ts';
import { less } from '../primitives/less.ts';
import { matmul } from '../primitives/matmul.ts';
import { max } from '../primitives/max.ts';
import { mul } from '../primitives/mul.ts';
import { reshape } from '../primitives/reshape.ts';
import { select } from '../primitives/select.ts';
import { sum } from '../primitives/sum.ts';
import { matrixTranspose } from '../primitives/transpose.ts';
import { l2Normalize } from '../composites/normalize.ts';
import { argmax } from './arg-extreme.ts';
import { chunkRanges, type EvaluationOptions, type HostArray, matrixShape, withChunkProgram } from './chunk-program.ts';
import { defaultChunkSize } from './weighted-knn.ts';

export interface RecallAtK {
  readonly k: number;
  /** The fraction of rows with a same-label row among their k nearest others. */
  readonly recall: number;
}

export interface RecallAtKOptions extends EvaluationOptions {
  /** Query rows per chunk; by default as many as keep a chunk's similarities under 64 MiB in float64. */
  readonly chunkSize?: number;
}

export const defaultRecallKs: readonly number[] = [1, 2, 4, 8];

/** Below every cosine similarity (they lie in [-1, 1]): the score of a row that is no positive. */
const EXCLUDED = -3;

/**
 * For each query, how many other rows rank before its nearest same-label row (by cosine
 * similarity, ties to the lower row), or n when it has no same-label other: [m]. `all` [n, d] and
 * its `labels` [n]; the queries are rows `rows` [m] of `all` (positions as floats) with labels
 * `queryLabels` [m]. Rows are L2-normalised here.
 */
export const recallChunkGraph = ({ all, labels, rows, queryLabels }: { all: Tensor; labels: Tensor; rows: Tensor; queryLabels: Tensor }): Tensor => {
  const [m] = rows.shape;
  const [n] = labels.shape;
  const unit = l2Normalize(all);
  const similarity = matmul(gather(unit, rows), matrixTranspose(unit));
  const positions = reshape(arange(n), [1, n]);
  const isSelf = equal(reshape(rows, [m, 1]), positions);
  const sameLabel = equal(reshape(queryLabels, [m, 1]), reshape(labels, [1, n]));
  const positiveSimilarity = select(isSelf, EXCLUDED, select(sameLabel, similarity, EXCLUDED));
  const best = max(positiveSimilarity, 1, true);
  const bestPosition = reshape(argmax(positiveSimilarity), [m, 1]);
  // An other-label row ranks before the best positive when more similar, or as similar and lower.
  const tiedBefore = mul(equal(similarity, best), less(positions, bestPosition));
  const before = select(sameLabel, 0, add(greater(similarity, best), tiedBefore));
  return select(greater(reshape(best, [m]), EXCLUDED), sum(before, 1), n);
};

/**
 * Recall@K of an embedding, for each K of `ks` (1, 2, 4, 8 by default): `embeddings` [n, d]
 * (normalised here), `labels` one integer per row (any integers: only equality counts).
 * Compiled by default; `interpreted: true` runs the float64 reference, from which the compiled
 * float32 one may differ on near-ties.
 */
export const recallAtK = async (
  embeddings: HostArray,
  labels: ArrayLike<number>,
  ks: readonly number[] = defaultRecallKs,
  options: RecallAtKOptions = {},
): Promise<RecallAtK[]> => {
  const [count] = matrixShape('recallAtK', 'embeddings', embeddings);
  if (labels.length !== count) throw new RangeError(`recallAtK: ${labels.length} labels for ${count} rows`);
  if (ks.length === 0) throw new RangeError('recallAtK: no K given');
  for (const k of ks) if (!Number.isInteger(k) || k < 1) throw new RangeError(`recallAtK: K = ${k} must be a positive integer`);
  const chunkSize = options.chunkSize ?? defaultChunkSize(count);
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`recallAtK: chunkSize = ${chunkSize} must be a positive integer`);
  const allLabels = { shape: [count], data: Float64Array.from(labels) };
  const ranks = new Float64Array(count);
  await withChunkProgram<{ all: HostArray; labels: HostArray; rows: HostArray; queryLabels: HostArray }, void>(recallChunkGraph, options, async (run) => {
    for (const [start, stop] of chunkRanges(count, chunkSize)) {
      const rows = { shape: [stop - start], data: Float64Array.from({ length: stop - start }, (_, i) => start + i) };
      const queryLabels = { shape: [stop - start], data: allLabels.data.subarray(start, stop) };
      ranks.set(await run({ all: embeddings, labels: allLabels, rows, queryLabels }), start);
    }
  });
  // A rank of count means no same-label other: never found, whatever K.
  return ks.map((k) => ({ k, recall: ranks.reduce((found, rank) => found + (rank < k && rank < count ? 1 : 0), 0) / count }));
};
