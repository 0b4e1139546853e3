// Alignment and uniformity on the hypersphere (Wang and Isola, ICML 2020):
//   alignment  = E ||x - y||^alpha over the m positive pairs (the two views of an instance),
//   uniformity = log E exp(-t ||x - y||^2) over all distinct pairs of the 2m rows,
//   loss       = alignment + uniformityWeight * uniformity.
// The uniformity pairs: every unordered pair {i, k}, i != k, of the 2m rows, both views pooled
// and the positive pairs included (the mean over ordered pairs i != k is the same number). The
// authors' code instead averages the uniformity of each view's m rows taken separately.

import type { Tensor } from '../tensor.ts';
import { add } from '../primitives/add.ts';
import { exp } from '../primitives/exp.ts';
import { greater } from '../primitives/greater.ts';
import { log } from '../primitives/log.ts';
import { mul } from '../primitives/mul.ts';
import { select } from '../primitives/select.ts';
import { sub } from '../primitives/sub.ts';
import { sum } from '../primitives/sum.ts';
import { square } from '../composites/activations.ts';
import { logsumexp } from '../composites/softmax.ts';
import { mean } from '../composites/statistics.ts';
import { excludeSelfPairs, type Features, instanceCount, pairwiseSquaredDistance, splitViews } from './pairs.ts';

export interface AlignmentUniformityOptions {
  /** The power of the distance in the alignment term. */
  readonly alpha?: number;
  /** The scale of the squared distance in the uniformity term's Gaussian kernel. */
  readonly t?: number;
  readonly uniformityWeight?: number;
}

/**
 * ||x - y||^alpha from ||x - y||^2. At coincident points the value and the gradient are 0 (the
 * derivative for alpha > 1, a subgradient for alpha = 1), never log(0) or a division by 0.
 */
const distancePower = (squaredDistance: Tensor, alpha: number): Tensor => {
  if (alpha === 2) return squaredDistance;
  const apart = greater(squaredDistance, 0);
  return select(apart, exp(mul(log(select(apart, squaredDistance, 1)), alpha / 2)), 0);
};

export const alignmentUniformityLoss = (
  features: Features,
  { alpha = 2, t = 2, uniformityWeight = 1 }: AlignmentUniformityOptions = {},
): Tensor<[]> => {
  const rows = 2 * instanceCount('alignmentUniformityLoss', features);
  const [first, second] = splitViews(features);
  const alignment = mean(distancePower(sum(square(sub(first, second)), -1), alpha));
  const kernelLogits = excludeSelfPairs(mul(pairwiseSquaredDistance(features), -t));
  const uniformity = sub(logsumexp(kernelLogits, [0, 1]), Math.log(rows * (rows - 1)));
  return add(alignment, mul(uniformity, uniformityWeight)) as Tensor<[]>;
};
