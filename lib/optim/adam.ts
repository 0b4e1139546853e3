// Adam, as PyTorch's torch.optim.Adam (weight decay as an L2 term added to the gradient, not
// decoupled as in AdamW):
//   t = t + 1;  g = grad + weightDecay p
//   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
//   p = p - lr (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + epsilon)
// The step count t is a scalar tensor in the state, so the bias corrections are computed in
// the graph (beta^t = exp(t log beta)) and a compiled step serves every t.

import type { Tensor } from '../tensor.ts';
import type { TensorTree } from '../tree.ts';
import { scalar, zerosLike } from '../constants.ts';
import { add } from '../primitives/add.ts';
import { div } from '../primitives/div.ts';
import { exp } from '../primitives/exp.ts';
import { mul } from '../primitives/mul.ts';
import { sqrt } from '../primitives/sqrt.ts';
import { sub } from '../primitives/sub.ts';
import { checkSameLeaves, zipLeaves } from './leaves.ts';
import { checkLearningRate, type LearningRate, type Optimizer, type OptimizerState } from './optimizer.ts';

export interface AdamOptions {
  readonly learningRate: LearningRate;
  /** Default 0.9. */
  readonly beta1?: number;
  /** Default 0.999. */
  readonly beta2?: number;
  /** Default 1e-8. */
  readonly epsilon?: number;
  /** Default 0. */
  readonly weightDecay?: number;
}

export type AdamState<P extends TensorTree> = { readonly step: Tensor<readonly []>; readonly firstMoment: P; readonly secondMoment: P };

/** 1 - beta^t for a scalar tensor t. */
const biasCorrection = (beta: number, t: Tensor): Tensor => sub(1, exp(mul(t, Math.log(beta))));

export const adam = ({ learningRate, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weightDecay = 0 }: AdamOptions): Optimizer => {
  checkLearningRate('adam', learningRate);
  return {
    init: <P extends TensorTree>(params: P): AdamState<P> => ({
      step: scalar(0),
      firstMoment: zipLeaves('adam', zerosLike, params),
      secondMoment: zipLeaves('adam', zerosLike, params),
    }),
    update: <P extends TensorTree>(params: P, state: OptimizerState<P>, grads: P) => {
      checkSameLeaves('adam', params, grads, 'gradients');
      const step = add(state.step as Tensor<readonly []>, 1) as Tensor<readonly []>;
      const decayed = weightDecay === 0 ? grads : zipLeaves('adam', (g, p) => add(g, mul(p, weightDecay)), grads, params);
      const firstMoment = zipLeaves('adam', (m, g) => add(mul(m, beta1), mul(g, 1 - beta1)), state.firstMoment as P, decayed);
      const secondMoment = zipLeaves('adam', (v, g) => add(mul(v, beta2), mul(mul(g, g), 1 - beta2)), state.secondMoment as P, decayed);
      // The scalar factors are computed once and broadcast to every leaf.
      const stepSize = div(learningRate, biasCorrection(beta1, step));
      const secondCorrection = biasCorrection(beta2, step);
      const next = zipLeaves(
        'adam',
        (p, m, v) => sub(p, div(mul(m, stepSize), add(sqrt(div(v, secondCorrection)), epsilon))),
        params,
        firstMoment,
        secondMoment,
      );
      return { params: next, state: { step, firstMoment, secondMoment } satisfies AdamState<P> };
    },
  };
};
