// What an encoder is: images in, one feature vector per image out, with batch-norm state
// threaded through so that a training step can return the updated running statistics. Beside
// the feature vector (the embedding the objective trains), an encoder hands out its backbone's
// pooled output before the final projection: the representation later methods evaluate, and
// often the better one for a kNN or a linear probe, since the projection is shaped by the
// objective's invariances alone.

import type { Tensor } from '../tensor.ts';
import type { TensorTree } from '../tree.ts';
import type { Key } from '../random/key.ts';
import type { Mode } from './layer.ts';

export interface Encoder<P extends TensorTree, S extends TensorTree> {
  /** The length of each feature vector. */
  readonly featureDimension: number;
  /** The length of each backbone vector (`pooled`). */
  readonly backboneDimension: number;
  readonly init: (key: Key) => { readonly params: P; readonly state: S };
  /**
   * images [N, 3, H, W] -> features [N, featureDimension] (L2-normalised rows), the backbone's
   * globally pooled output [N, backboneDimension] that the features are projected from, and the
   * next state.
   */
  readonly apply: <N extends number>(
    params: P,
    state: S,
    images: Tensor<readonly [N, number, number, number]>,
    mode: Mode,
  ) => { readonly features: Tensor<readonly [N, number]>; readonly pooled: Tensor<readonly [N, number]>; readonly state: S };
}
