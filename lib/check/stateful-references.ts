// Second implementations of the built-in stateful objectives, written another way than the
// objectives themselves: the batch's rows are picked and written through one-hot [B, N] matrices
// (matmul and masks) instead of gather and scatter, each log-probability is read from a full
// log-softmax by a mask, and rows are normalised by an explicit division. The battery checks the
// objectives' loss, gradients and next state against these.

import type { Tensor } from '../tensor.ts';
import { arange } from '../constants.ts';
import { add } from '../primitives/add.ts';
import { div } from '../primitives/div.ts';
import { equal } from '../primitives/equal.ts';
import { matmul } from '../primitives/matmul.ts';
import { mul } from '../primitives/mul.ts';
import { reshape } from '../primitives/reshape.ts';
import { select } from '../primitives/select.ts';
import { sqrt } from '../primitives/sqrt.ts';
import { stopGradient } from '../primitives/stop-gradient.ts';
import { sub } from '../primitives/sub.ts';
import { sum } from '../primitives/sum.ts';
import { transpose } from '../primitives/transpose.ts';
import { square } from '../composites/activations.ts';
import { logSoftmax } from '../composites/softmax.ts';
import type { ExemplarOptions } from '../objectives/exemplar.ts';
import type { MemoryBankOptions } from '../objectives/memory-bank.ts';
import type { StatefulObjective } from '../objectives/stateful-objective.ts';

/** [B, N]: 1 where column j is the instance of row b. */
const oneHot = (indices: Tensor, count: number): Tensor =>
  equal(reshape(indices, [indices.shape[0], 1]), reshape(arange(count), [1, count]));

const unitRows = (x: Tensor): Tensor => div(x, sqrt(sum(square(x), -1, true)));

/** -mean_b log softmax(logits_b)[index_b]. */
const crossEntropyOnIndex = (logits: Tensor, hot: Tensor): Tensor => div(sum(select(hot, logSoftmax(logits), 0)), -logits.shape[0]);

export const memoryBankReference: StatefulObjective<MemoryBankOptions>['loss'] = (features, { temperature = 0.07, momentum = 0.5 }, { indices, state }) => {
  const bank = (state as { bank: Tensor }).bank;
  const hot = oneHot(indices, bank.shape[0]);
  const x = unitRows(features);
  const loss = crossEntropyOnIndex(div(matmul(x, transpose(bank)), temperature), hot);
  const fresh = unitRows(add(mul(matmul(hot, bank), momentum), mul(stopGradient(x), 1 - momentum)));
  const untouched = sub(1, reshape(sum(hot, 0), [bank.shape[0], 1]));
  return { loss, state: { bank: add(mul(bank, untouched), matmul(transpose(hot), fresh)) } };
};

export const exemplarReference: StatefulObjective<ExemplarOptions>['loss'] = (features, { temperature = 0.07, cosine = true }, { indices, params }) => {
  const weights = (params as { weights: Tensor }).weights;
  const [x, w] = cosine ? [unitRows(features), unitRows(weights)] : [features, weights];
  return { loss: crossEntropyOnIndex(div(matmul(x, transpose(w)), temperature), oneHot(indices, weights.shape[0])), state: {} };
};
