// What an optimiser is: pure functions over trees of tensors, written in the language so that
// they compile into the training step. `init(params)` makes the state (its slots are trees
// shaped like the parameters, plus scalars); `update(params, state, grads)` gives the next
// parameters and state. The learning rate may be a scalar tensor, an input of the compiled
// step, so that a schedule changes it without a recompile.

import type { Tensor } from '../tensor.ts';
import type { TensorTree } from '../tree.ts';

export type LearningRate = number | Tensor<readonly []>;

/** An optimiser's state: named slots, each a tree shaped like the parameters or a scalar. */
export type OptimizerState<P extends TensorTree> = { readonly [slot: string]: P | Tensor<readonly []> };

export interface Optimizer {
  readonly init: <P extends TensorTree>(params: P) => OptimizerState<P>;
  readonly update: <P extends TensorTree>(params: P, state: OptimizerState<P>, grads: P) => { readonly params: P; readonly state: OptimizerState<P> };
}

export const checkLearningRate = (where: string, learningRate: LearningRate): LearningRate => {
  if (typeof learningRate !== 'number' && learningRate.rank !== 0)
    throw new RangeError(`${where}: the learning rate must be a number or a scalar tensor (shape []), got rank ${learningRate.rank}`);
  return learningRate;
};
