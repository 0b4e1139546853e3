// Stochastic gradient descent with momentum and L2 weight decay, as PyTorch's torch.optim.SGD
// (dampening 0), the paper's optimiser (lr 0.03, momentum 0.9, weight decay 5e-4):
//   g = grad + weightDecay p
//   v = momentum v + g                  (v starts at zero, so the first v is g)
//   p = p - lr (nesterov ? g + momentum v : v)
// Weight decay applies to every parameter, batch-norm scales and biases included, as
// `SGD(model.parameters(), ...)` does in the paper's code.

import type { Tensor } from '../tensor.ts';
import type { TensorTree } from '../tree.ts';
import { zerosLike } from '../constants.ts';
import { add } from '../primitives/add.ts';
import { mul } from '../primitives/mul.ts';
import { sub } from '../primitives/sub.ts';
import { checkSameLeaves, zipLeaves } from './leaves.ts';
import { checkLearningRate, type LearningRate, type Optimizer, type OptimizerState } from './optimizer.ts';

export interface SgdOptions {
  readonly learningRate: LearningRate;
  /** Default 0.9. */
  readonly momentum?: number;
  /** Default 5e-4. */
  readonly weightDecay?: number;
  /** Default false. */
  readonly nesterov?: boolean;
}

export type SgdState<P extends TensorTree> = { readonly velocity: P };

export const sgd = ({ learningRate, momentum = 0.9, weightDecay = 5e-4, nesterov = false }: SgdOptions): Optimizer => {
  checkLearningRate('sgd', learningRate);
  return {
    init: <P extends TensorTree>(params: P): SgdState<P> => ({ velocity: zipLeaves('sgd', zerosLike, params) }),
    update: <P extends TensorTree>(params: P, state: OptimizerState<P>, grads: P) => {
      checkSameLeaves('sgd', params, grads, 'gradients');
      const decayed = weightDecay === 0 ? grads : zipLeaves('sgd', (g, p) => add(g, mul(p, weightDecay)), grads, params);
      const velocity = zipLeaves('sgd', (v, g) => add(mul(v, momentum), g), state.velocity as P, decayed);
      const direction = nesterov ? zipLeaves('sgd', (g, v) => add(g, mul(v, momentum)), decayed, velocity) : velocity;
      const next = zipLeaves('sgd', (p, d) => sub(p, mul(d, learningRate as Tensor | number) as Tensor), params, direction);
      return { params: next, state: { velocity } satisfies SgdState<P> };
    },
  };
};
