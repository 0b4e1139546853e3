// What an encoder is: images in, one feature vector per image out, with batch-norm state
// threaded through so that a training step can return the updated running statistics.

import type { Tensor } from '../tensor.ts';
import type { TensorTree } from '../tree.ts';
import type { Key } from '../random/key.ts';
import type { Mode } from './layer.ts';

export interface Encoder<P extends TensorTree, S extends TensorTree> {
  /** The length of each feature vector. */
  readonly featureDimension: number;
  readonly init: (key: Key) => { readonly params: P; readonly state: S };
  /** images [N, 3, H, W] -> features [N, featureDimension] (L2-normalised rows) and the next state. */
  readonly apply: <N extends number>(
    params: P,
    state: S,
    images: Tensor<readonly [N, number, number, number]>,
    mode: Mode,
  ) => { readonly features: Tensor<readonly [N, number]>; readonly state: S };
}
