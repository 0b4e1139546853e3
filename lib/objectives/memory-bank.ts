// The memory bank of non-parametric instance discrimination (Wu, Xiong, Yu and Lin, CVPR 2018,
// "NPID"), in its full-softmax form. The state is a bank [N, d] of one L2-normalised feature per
// training instance; one augmented view of each image is encoded, and instance i's feature x_i
// picks its own bank row out of all N by a softmax at temperature tau:
//   P(i | x_i) = exp(v_i . x_i / tau) / sum_j exp(v_j . x_j / tau),   loss = -mean_i log P(i | x_i).
// The bank is the one from before the step (the authors' LinearAverage scores against the memory,
// then writes it); the batch's rows are then written as
//   v_i <- normalise(momentum v_i + (1 - momentum) x_i)   (momentum 0.5),
// with x_i held fixed: the bank is a value carried between steps, and no gradient reaches it or
// flows back through it.

import type { Tensor } from '../tensor.ts';
import { add } from '../primitives/add.ts';
import { div } from '../primitives/div.ts';
import { matmul } from '../primitives/matmul.ts';
import { mul } from '../primitives/mul.ts';
import { stopGradient } from '../primitives/stop-gradient.ts';
import { sub } from '../primitives/sub.ts';
import { sum } from '../primitives/sum.ts';
import { transpose } from '../primitives/transpose.ts';
import { l2Normalize } from '../composites/normalize.ts';
import { logsumexp } from '../composites/softmax.ts';
import { mean } from '../composites/statistics.ts';
import { batchInstances, randomUnitRows, rowsAt, withRowsAt } from './instance-rows.ts';
import type { StatefulObjective } from './stateful-objective.ts';

export interface MemoryBankOptions {
  /** tau; the authors use 0.07. */
  readonly temperature?: number;
  /** The weight of a bank row's old value in its update; the authors use 0.5. */
  readonly momentum?: number;
}

export type MemoryBankState = {
  /** [N, d], one unit row per training instance. */
  readonly bank: Tensor<readonly [number, number]>;
};

export const memoryBankObjective: StatefulObjective<MemoryBankOptions, MemoryBankState, Record<string, never>> = {
  views: 1,
  init: (key, size) => ({ state: { bank: randomUnitRows(key, size) }, params: {} }),
  loss: (features, { temperature = 0.07, momentum = 0.5 }, { indices, state: { bank } }) => {
    batchInstances('memoryBankLoss', features, indices, 1);
    const x = l2Normalize(features as Tensor);
    const own = rowsAt(bank, indices);
    const logits = div(matmul(x, transpose(bank)), temperature);
    const positive = div(sum(mul(x, own), -1), temperature);
    const loss = mean(sub(logsumexp(logits, -1), positive)) as Tensor<[]>;
    const updated = l2Normalize(add(mul(own, momentum), mul(stopGradient(x), 1 - momentum)));
    return { loss, state: { bank: withRowsAt(bank, indices, updated) as Tensor<readonly [number, number]> } };
  },
};
