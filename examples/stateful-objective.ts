// A stateful objective in one file: `--objective examples/stateful-objective.ts` trains with it,
// `npm run check-objective -- examples/stateful-objective.ts` checks it. A file is stateful when
// it exports `init`; the training step then hands the loss the batch's instance indices, the
// state and the objective's own parameters, and threads the state it returns into the next step.
//
// The objective: a memory bank fed by both views. Each instance keeps a slow average of its
// features (momentum 0.9) in a bank [N, d]; each of the two views of instance i picks row i out
// of all N rows by a softmax at temperature tau, and the bank's rows of the batch then move
// towards the mean of the two views, held fixed (stopGradient: no gradient flows into the bank).

import {
  add, div, l2Normalize, logsumexp, matmul, mean, mul, randomUnitRows, rowsAt, slice, stopGradient, sub, sum, type Tensor, transpose, withRowsAt,
} from '../lib/index.ts';
import type { Key } from '../lib/index.ts';

/** Two augmented views of each image: features [2B, d], the B first views, then the B second views. */
export const views = 2;

export const options = { temperature: 0.1, momentum: 0.9 };

/** The bank before the first step: one random unit row per training instance; no parameters. */
export const init = (key: Key, { count, dimension }: { count: number; dimension: number }) =>
  ({ state: { bank: randomUnitRows(key, { count, dimension }) }, params: {} });

export default (
  features: Tensor<readonly [number, number]>,
  { temperature, momentum }: typeof options,
  { indices, state }: { indices: Tensor<readonly [number]>; state: { bank: Tensor } },
) => {
  const { bank } = state;
  const batch = indices.shape[0];
  const x = l2Normalize(features as Tensor);
  const own = rowsAt(bank, indices);
  const logits = div(matmul(x, transpose(bank)), temperature);
  // Each view's target is its instance's row, the same row for both views.
  const targets = [slice(x, [{ stop: batch }]), slice(x, [{ start: batch }])].map((view) => sum(mul(view, own), -1));
  const positive = div(add(sum(targets[0]), sum(targets[1])), temperature);
  const loss = sub(mean(logsumexp(logits, -1)), div(positive, 2 * batch));
  const viewMean = div(add(slice(x, [{ stop: batch }]), slice(x, [{ start: batch }])), 2);
  const updated = l2Normalize(add(mul(own, momentum), mul(stopGradient(viewMean), 1 - momentum)));
  return { loss, state: { bank: withRowsAt(bank, indices, updated) } };
};
