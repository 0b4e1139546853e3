// Stateful objectives: an objective that keeps something across steps (a memory bank of every
// instance's feature, a queue, prototypes) or trains something of its own besides the encoder
// (one classifier weight per instance), still written as pure functions. The training step
// hands it the batch's features and instance indices, its state and its parameters as values,
// and threads the state it returns into the next step; nothing is mutated. The state gets no
// gradient (the step differentiates the loss with respect to the encoder's and the objective's
// parameters only), and the state's update should hold the features fixed (stopGradient), as a
// memory bank's does.

import type { Tensor } from '../tensor.ts';
import type { TensorTree } from '../tree.ts';
import type { Key } from '../random/key.ts';

/** What the objective is sized for: N instances (the training set) of d-dimensional features. */
export interface ObjectiveSize {
  readonly count: number;
  readonly dimension: number;
}

/** An objective's own state and trainable parameters; either may be an empty object. */
export interface ObjectiveVariables<S extends TensorTree = TensorTree, P extends TensorTree = TensorTree> {
  readonly state: S;
  readonly params: P;
}

export interface StatefulObjectiveContext<S extends TensorTree = TensorTree, P extends TensorTree = TensorTree> extends ObjectiveVariables<S, P> {
  /**
   * [B], the training-set index of each instance of the batch (integers held as floats, distinct
   * within a batch). With two views the features have 2B rows: the B first views, then the B
   * second views, of the same instances.
   */
  readonly indices: Tensor<readonly [number]>;
}

export interface StatefulObjectiveResult<S extends TensorTree = TensorTree> {
  readonly loss: Tensor;
  /** The state the next step sees. */
  readonly state: S;
}

export interface StatefulObjective<O extends object = any, S extends TensorTree = any, P extends TensorTree = any> {
  /** Views drawn of each image: 1 (the memory bank's and the exemplar classifier's recipe) or 2. */
  readonly views: 1 | 2;
  /** The state and parameters before the first step, drawn from `key`. */
  readonly init: (key: Key, size: ObjectiveSize, options: O) => ObjectiveVariables<S, P>;
  /** features [views x B, d] -> the loss and the next state. */
  readonly loss: (features: Tensor<readonly [number, number]>, options: O, context: StatefulObjectiveContext<S, P>) => StatefulObjectiveResult<S>;
}
