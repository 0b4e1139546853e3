// One training step of an embedding method, as one function of the language: draw two
// augmented views of every image with split keys, encode them, score them with the objective,
// differentiate, and update the parameters and the batch-norm statistics. Compiled once, it
// runs as one compiled program per call; the key and the learning rate are inputs, so neither a
// new step's randomness nor a schedule forces a recompile. `trainingStepOnViews` is the same step
// after the views are drawn, for timing the model's part alone.

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

/** The step's inputs with the two views already drawn: [2N, C, H, W], the N first views, then the N second views. */
export interface ViewsStepInputs<P extends TensorTree, S extends TensorTree> extends Omit<TrainingStepInputs<P, S>, 'images' | 'key'> {
  readonly views: Images;
}

/**
 * The training step on views augmented beforehand: the model's part alone (encode, score,
 * differentiate, update). `trainingStep` is this after `twoViews`; a benchmark compiles it on its
 * own to compare like for like with a framework whose step leaves the augmentation out.
 */
export const trainingStepOnViews =
  <P extends TensorTree, S extends TensorTree>({ encoder, objective, optimizer }: Omit<TrainingStepOptions<P, S>, 'augmentation'>) =>
  ({ params, state, optimizerState, views, learningRate }: ViewsStepInputs<P, S>): TrainingStepOutputs<P, S> => {
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

export const trainingStep = <P extends TensorTree, S extends TensorTree>(options: TrainingStepOptions<P, S>) => {
  const onViews = trainingStepOnViews(options);
  return ({ images, key, ...rest }: TrainingStepInputs<P, S>): TrainingStepOutputs<P, S> =>
    onViews({ ...rest, views: twoViews(key, images, options.augmentation) });
};
