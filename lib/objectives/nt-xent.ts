// NT-Xent, the InfoNCE loss of SimCLR (Chen et al., 2020): each row of the [2m, d] batch picks
// its other view out of the other 2m - 1 rows by a softmax of similarities over tau; the loss is
// the cross-entropy of that choice, averaged over the 2m rows. It is the invariant-spreading loss
// without the spreading term (and with gradients through both sides of each similarity).

import type { Tensor } from '../tensor.ts';
import { div } from '../primitives/div.ts';
import { select } from '../primitives/select.ts';
import { sum } from '../primitives/sum.ts';
import { logSoftmax } from '../composites/softmax.ts';
import { excludeSelfPairs, type Features, instanceCount, pairwiseSimilarity, positiveMask } from './pairs.ts';

export interface NtXentOptions {
  readonly temperature?: number;
}

export const ntXentLoss = (features: Features, { temperature = 0.1 }: NtXentOptions = {}): Tensor<[]> => {
  const m = instanceCount('ntXentLoss', features);
  const logits = excludeSelfPairs(div(pairwiseSimilarity(features), temperature));
  return div(sum(select(positiveMask(m), logSoftmax(logits), 0)), -2 * m) as Tensor<[]>;
};
