// The training step of a stateful objective: the views (one or two per image, as the objective
// asks) are encoded, scored by the objective with the batch's instance indices, its state and its
// own parameters, and the loss is differentiated with respect to the encoder's parameters and
// the objective's together. Both are updated by the same optimiser (SGD is elementwise, so two
// updates are one over the joined tree), each with its own slots, so that a stateless run's
// checkpoint layout is untouched. The objective's next state comes out as a value, threaded by
// the caller into the next step.

import type { Images, Tensor } from '../tensor.ts';
import type { TensorTree } from '../tree.ts';
import { valueAndGrad } from '../autodiff.ts';
import type { Key } from '../random/key.ts';
import type { Encoder } from '../nn/encoder.ts';
import type { LearningRate, Optimizer, OptimizerState } from '../optim/optimizer.ts';
import { type Augmentation, twoViews } from '../augment/compose.ts';
import type { StatefulObjective } from '../objectives/stateful-objective.ts';
import type { TrainingStepInputs, TrainingStepOptions, TrainingStepOutputs } from './training-step.ts';

/** What a stateful objective carries from step to step, as saved under `objective.` in the checkpoint. */
export interface ObjectiveTraining {
  readonly state: TensorTree;
  readonly params: TensorTree;
  readonly optimizerState: OptimizerState<TensorTree>;
}

export interface StatefulStepInputs<P extends TensorTree, S extends TensorTree> extends TrainingStepInputs<P, S> {
  readonly objective: ObjectiveTraining;
  /** The batch's B images' B distinct training-set indices. */
  readonly indices: Tensor<readonly [number]>;
}

export interface StatefulStepOutputs<P extends TensorTree, S extends TensorTree> extends TrainingStepOutputs<P, S> {
  readonly objective: ObjectiveTraining;
}

export interface StatefulStepOptions<P extends TensorTree, S extends TensorTree> extends Omit<TrainingStepOptions<P, S>, 'objective'> {
  readonly objective: StatefulObjective;
  readonly objectiveOptions: object;
}

export const statefulTrainingStep =
  <P extends TensorTree, S extends TensorTree>({ encoder, objective, objectiveOptions, optimizer, augmentation }: StatefulStepOptions<P, S>) =>
  ({ params, state, optimizerState, objective: carried, images, indices, key, learningRate }: StatefulStepInputs<P, S>): StatefulStepOutputs<P, S> => {
    const views = objective.views === 1 ? augmentation(key, images) : twoViews(key, images, augmentation);
    const [[loss, next], grads] = valueAndGrad(
      (trained: { encoder: P; objective: TensorTree }) => {
        const { features, state: encoderState } = encoder.apply(trained.encoder, state, views, { training: true });
        const scored = objective.loss(features, objectiveOptions, { indices, state: carried.state, params: trained.objective });
        return [scored.loss, { encoderState, objectiveState: scored.state as TensorTree }] as const;
      },
      { hasAux: true },
    )({ encoder: params, objective: carried.params });
    const encoderUpdate = optimizer(learningRate).update(params, optimizerState, grads.encoder);
    const objectiveUpdate = optimizer(learningRate).update(carried.params, carried.optimizerState, grads.objective);
    return {
      params: encoderUpdate.params,
      state: next.encoderState,
      optimizerState: encoderUpdate.state,
      objective: { state: next.objectiveState, params: objectiveUpdate.params, optimizerState: objectiveUpdate.state },
      loss,
    };
  };
