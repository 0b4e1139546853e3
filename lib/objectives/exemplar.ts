// The exemplar classifier (Dosovitskiy, Springenberg, Riedmiller and Brox, NIPS 2014): every
// training instance is its own class, and a classifier with one trainable weight row per
// instance, W [N, d], learns with the encoder to name the instance of each augmented view by
// softmax cross-entropy on its index:
//   loss = -mean_i log softmax(W x_i / tau)_{index(i)}.
// By default the classifier is a cosine one: rows of W and features both L2-normalised, logits
// over a temperature. The encoder's features are unit vectors, so an unnormalised W's logits are
// bounded by its row norms, which start small and are held down by weight decay: the softmax over
// N classes would start uniform and learn at a rate set by |W| rather than by the data. With
// normalised rows and the memory bank's temperature the two objectives differ in one thing only,
// whether the N class vectors are trained by gradient (here) or set to averaged features (the
// memory bank), which is the comparison the memory bank's authors and Ye et al. draw.
// `cosine: false` gives the paper's plain linear softmax, W x (tau still divides).

import type { Tensor } from '../tensor.ts';
import { div } from '../primitives/div.ts';
import { matmul } from '../primitives/matmul.ts';
import { mul } from '../primitives/mul.ts';
import { sub } from '../primitives/sub.ts';
import { sum } from '../primitives/sum.ts';
import { transpose } from '../primitives/transpose.ts';
import { l2Normalize } from '../composites/normalize.ts';
import { logsumexp } from '../composites/softmax.ts';
import { mean } from '../composites/statistics.ts';
import { batchInstances, randomUnitRows, rowsAt } from './instance-rows.ts';
import type { StatefulObjective } from './stateful-objective.ts';

export interface ExemplarOptions {
  readonly temperature?: number;
  /** Normalise W's rows and the features (default true): a cosine classifier. */
  readonly cosine?: boolean;
}

export type ExemplarParams = {
  /** [N, d], one class vector per training instance. */
  readonly weights: Tensor<readonly [number, number]>;
};

export const exemplarObjective: StatefulObjective<ExemplarOptions, Record<string, never>, ExemplarParams> = {
  views: 1,
  init: (key, size) => ({ state: {}, params: { weights: randomUnitRows(key, size) } }),
  loss: (features, { temperature = 0.07, cosine = true }, { indices, params: { weights } }) => {
    batchInstances('exemplarLoss', features, indices, 1);
    const [x, w] = cosine ? [l2Normalize(features as Tensor), l2Normalize(weights as Tensor)] : [features as Tensor, weights as Tensor];
    const logits = div(matmul(x, transpose(w)), temperature);
    const target = div(sum(mul(x, rowsAt(w, indices)), -1), temperature);
    return { loss: mean(sub(logsumexp(logits, -1), target)) as Tensor<[]>, state: {} };
  },
};
