// The invariant and spreading instance feature loss (Ye, Zhang, Yuen and Chang, CVPR 2019).
// Each row x_i of the [2m, d] batch is scored by a softmax over the other 2m - 1 rows:
//   P_ij = exp(x_i . x_j / tau) / sum_{k != i} exp(x_i . x_k / tau),
// and the loss pulls each row to its other view (P_i = P_i,positive near 1: invariance) while
// pushing it away from every other instance (P_ij near 0: spreading):
//   loss = -(sum_i log P_i + negativeWeight * sum_i sum_{j != i, positive} log(1 - P_ij)) / 2m.

import type { Tensor } from '../tensor.ts';
import { add } from '../primitives/add.ts';
import { div } from '../primitives/div.ts';
import { mul } from '../primitives/mul.ts';
import { select } from '../primitives/select.ts';
import { sum } from '../primitives/sum.ts';
import { logSoftmax } from '../composites/softmax.ts';
import { logOneMinusSoftmax } from './log-one-minus-softmax.ts';
import { excludeSelfPairs, type Features, instanceCount, negativeMask, pairwiseSimilarity, positiveMask } from './pairs.ts';

export interface InvariantSpreadingOptions {
  /** tau; the paper uses 0.1. */
  readonly temperature?: number;
  /** The weight of the spreading (negative) term; `negM` in the authors' code. */
  readonly negativeWeight?: number;
  /**
   * Score x_i . stopGradient(x_k), as the authors' code does (it multiplies by a detached copy),
   * so gradients flow only through the row being scored; `false` differentiates the equation
   * as written.
   */
  readonly stopGradientOnTargets?: boolean;
}

export const invariantSpreadingLoss = (
  features: Features,
  { temperature = 0.1, negativeWeight = 1, stopGradientOnTargets = true }: InvariantSpreadingOptions = {},
): Tensor<[]> => {
  const m = instanceCount('invariantSpreadingLoss', features);
  const logits = excludeSelfPairs(div(pairwiseSimilarity(features, stopGradientOnTargets), temperature));
  const logPositive = sum(select(positiveMask(m), logSoftmax(logits), 0));
  const logNotNegative = sum(select(negativeMask(m), logOneMinusSoftmax(logits), 0));
  return div(add(logPositive, mul(logNotNegative, negativeWeight)), -2 * m) as Tensor<[]>;
};
