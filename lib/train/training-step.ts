// One training step of an embedding method, as one function of the language: draw two
// augmented views of every image with split keys, encode them, score them with the objective,
// differentiate, and update the parameters and the batch-norm statistics. Compiled once, it
// runs as one compiled program per call; the key and the learning rate are inputs, so neither a
// new step's randomness nor a schedule forces a recompile.

import type { Images, Tensor } from '../tensor.ts';
import type { TensorTree } from '../tree.ts';
import { valueAndGrad } from '../autodiff.ts';
import type { Key } from '../random/key.ts';
import type { Encoder } from '../nn/encoder.ts';
import type { LearningRate, Optimizer, OptimizerState } from '../optim/optimizer.ts';
import { type Augmentation, twoViews } from '../augment/compose.ts';

export interface TrainingStepInputs<P extends TensorTree, S extends TensorTree> {
  readonly params: P;
  readonly state: S;
  readonly optimizerState: OptimizerState<P>;
  /** A batch of N images in [0, 1]; the step encodes 2N views. */
  readonly images: Images;
  readonly key: Key;
  readonly learningRate: Tensor<readonly []>;
}

export interface TrainingStepOutputs<P extends TensorTree, S extends TensorTree> {
  readonly params: P;
  readonly state: S;
  readonly optimizerState: OptimizerState<P>;
  readonly loss: Tensor;
}

export interface TrainingStepOptions<P extends TensorTree, S extends TensorTree> {
  readonly encoder: Encoder<P, S>;
  /** features [2N, d] (first views, then second views) -> scalar loss. */
  readonly objective: (features: Tensor<readonly [number, number]>) => Tensor;
  readonly optimizer: (learningRate: LearningRate) => Optimizer;
  readonly augmentation: Augmentation;
}

export const trainingStep =
  <P extends TensorTree, S extends TensorTree>({ encoder, objective, optimizer, augmentation }: TrainingStepOptions<P, S>) =>
  ({ params, state, optimizerState, images, key, learningRate }: TrainingStepInputs<P, S>): TrainingStepOutputs<P, S> => {
    const views = twoViews(key, images, augmentation);
    const [[loss, nextState], grads] = valueAndGrad(
      (p: P) => {
        const { features, state: updated } = encoder.apply(p, state, views, { training: true });
        return [objective(features), updated] as const;
      },
      { hasAux: true },
    )(params);
    const updated = optimizer(learningRate).update(params, optimizerState, grads);
    return { params: updated.params, state: nextState, optimizerState: updated.state, loss };
  };
