// A placeholder: the leaf that stands for an argument of a compiled function while it is traced.
// It has no value of its own; interpreting one without a binding is an error that names it.

import type { Shape } from '../shape.ts';
import { type Primitive, Tensor } from '../tensor.ts';

export interface PlaceholderParams {
  /** Where the argument sits in the compiled function's argument tree. */
  readonly path: string;
  readonly index: number;
}

export const placeholderPrimitive: Primitive<PlaceholderParams> = {
  name: 'placeholder',
  leaf: true,
  shape: () => {
    throw new Error('placeholder: built only by `placeholder`');
  },
  evaluate: (_inputs, { path }) => {
    throw new Error(`interpret: the placeholder for argument ${path} has no value; bind it or use a constant`);
  },
  vjp: () => [],
};

export const placeholder = <const S extends Shape>(shape: S, path: string, index: number): Tensor<S> =>
  new Tensor(placeholderPrimitive, [], { path, index }, [...shape] as unknown as S);
