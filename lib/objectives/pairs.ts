// The pairs of rows in a batch of two views, shared by the embedding objectives. Features are
// [2m, d]: rows 0..m-1 are the first views of m instances, rows m..2m-1 the second views, so row
// i's positive (its other view) is row i + m or i - m. An objective scores every pair of rows
// through one [2m, 2m] matrix and tells the pairs apart with constant masks.

import { formatShape, type Rank2, ShapeError } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { eye, zeros } from '../constants.ts';
import { add } from '../primitives/add.ts';
import { concat } from '../primitives/concat.ts';
import { matmul } from '../primitives/matmul.ts';
import { mul } from '../primitives/mul.ts';
import { select } from '../primitives/select.ts';
import { slice } from '../primitives/slice.ts';
import { stopGradient } from '../primitives/stop-gradient.ts';
import { sub } from '../primitives/sub.ts';
import { sum } from '../primitives/sum.ts';
import { transpose } from '../primitives/transpose.ts';
import { square } from '../composites/activations.ts';

/** A batch of two views of m instances: [2m, d], the m first views then the m second views. */
export type Features = Tensor<Rank2>;

/** m, the number of instances; a clear error when the rows cannot be two views of each. */
export const instanceCount = (objective: string, features: Tensor): number => {
  const rows = features.shape[0];
  if (features.rank !== 2 || rows < 2 || rows % 2 !== 0)
    throw new ShapeError(
      `${objective}: features ${formatShape(features.shape)} must be [2m, d] with m >= 1: the m first views, then the m second views`,
    );
  return rows / 2;
};

/** The first views [m, d] and the second views [m, d]. */
export const splitViews = (features: Tensor): [Tensor, Tensor] => {
  const m = features.shape[0] / 2;
  return [slice(features, [{ stop: m }]), slice(features, [{ start: m }])];
};

/** [2m, 2m], 1 where a row meets itself. */
export const selfMask = (m: number): Tensor => eye(2 * m);

/** [2m, 2m], 1 where a row meets its other view: the positive pairs. */
export const positiveMask = (m: number): Tensor => {
  const [none, same] = [zeros([m, m]), eye(m)];
  return concat([concat([none, same], 1), concat([same, none], 1)], 0);
};

/** [2m, 2m], 1 where a row meets a view of another instance: the negative pairs. */
export const negativeMask = (m: number): Tensor => sub(sub(1, selfMask(m)), positiveMask(m));

/**
 * Inner products of every pair of rows, [2m, 2m]. With `stopGradientOnTargets`, entry (i, k) is
 * x_i . stopGradient(x_k): gradients reach only the row being scored, as in the invariant-spreading
 * authors' code.
 */
export const pairwiseSimilarity = (features: Tensor, stopGradientOnTargets = false): Tensor =>
  matmul(features, transpose(stopGradientOnTargets ? stopGradient(features) : features));

/** Squared Euclidean distances of every pair of rows, [2m, 2m]: |x_i|^2 + |x_k|^2 - 2 x_i . x_k. */
export const pairwiseSquaredDistance = (features: Tensor): Tensor => {
  const squaredNorms = sum(square(features), -1, true);
  return add(add(squaredNorms, transpose(squaredNorms)), mul(pairwiseSimilarity(features), -2));
};

/**
 * A logit that no exponential sees: exp(excludedLogit - max) is exactly 0 (in float32 too).
 * Finite rather than -Infinity, whose shift by a row maximum of -Infinity (a row with nothing
 * left) would be NaN.
 */
export const excludedLogit = -1e30;

/** Logits [2m, 2m] with each row's own entry excluded from its softmax and log-sum-exp. */
export const excludeSelfPairs = (logits: Tensor): Tensor => select(selfMask(logits.shape[0] / 2), excludedLogit, logits);
