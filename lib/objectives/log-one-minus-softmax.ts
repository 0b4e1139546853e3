// log(1 - softmax(logits)) along the last axis, accurate and finite for every finite logit.
//
// The obvious forms fail when one entry holds nearly all the mass: two nearly coincident rows at
// temperature 0.05 give p = 1 - 1e-17, which rounds to 1, so log1p(-p) and log(Z - e_j) - log Z
// are -Infinity although the answer is about -40. So, as log1mexp does, two forms are used:
// - p_j <= 1/2: log1p(-p_j), accurate because 1 - p_j >= 1/2;
// - p_j > 1/2 (at most one entry of a row): 1 - p_j is the mass of the OTHER entries, so
//   log(1 - p_j) = logsumexp(the row without j) - logsumexp(the row), and nothing cancels.
// A row has at most one such j, so this is one extra log-sum-exp per row, not one per entry.
//
// Each form sees only the entries its select keeps (a double select): the form not taken there
// (log1p(-1) = -Infinity at p = 1, say) cannot feed an infinite or NaN cotangent into the gradient.

import type { Shape } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { greater } from '../primitives/greater.ts';
import { neg } from '../primitives/neg.ts';
import { select } from '../primitives/select.ts';
import { sub } from '../primitives/sub.ts';
import { log1p } from '../composites/log1p.ts';
import { logsumexp, softmax } from '../composites/softmax.ts';
import { excludedLogit } from './pairs.ts';

export const logOneMinusSoftmax = <S extends Shape>(logits: Tensor<S>): Tensor<S> => {
  const x = logits as Tensor;
  const probability = softmax(x);
  const dominant = greater(probability, 0.5);
  const ofDominant = sub(logsumexp(select(dominant, excludedLogit, x), -1, true), logsumexp(x, -1, true));
  const ofTheRest = log1p(neg(select(dominant, 0, probability)));
  return select(dominant, ofDominant, ofTheRest) as Tensor<S>;
};
