// What a layer is: a pair of pure functions. `init(key)` makes the parameters (a tree of
// tensors); `apply(params, x)` maps an input to an output. A layer with state that training
// updates (batch norm's running statistics) takes the state in and hands the new state back,
// so a training step can thread it through without anything mutable.

import type { Tensor } from '../tensor.ts';
import type { TensorTree } from '../tree.ts';
import type { Key } from '../random/key.ts';

/** Training uses a batch's own statistics and updates the running ones; evaluation uses the running ones. */
export interface Mode {
  readonly training: boolean;
}

export interface Layer<P extends TensorTree, X extends Tensor = Tensor, Y extends Tensor = Tensor> {
  readonly init: (key: Key) => P;
  readonly apply: (params: P, x: X) => Y;
}

export interface StatefulLayer<P extends TensorTree, S extends TensorTree, X extends Tensor = Tensor, Y extends Tensor = Tensor> {
  readonly init: (key: Key) => { readonly params: P; readonly state: S };
  readonly apply: (params: P, state: S, x: X, mode: Mode) => { readonly y: Y; readonly state: S };
}
