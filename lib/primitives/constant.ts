// A constant: the leaf of every graph. Its data is copied in once and never mutated.

import type { Shape } from '../shape.ts';
import type { Primitive } from '../tensor.ts';

export interface ConstantParams {
  readonly data: Float64Array;
}

export const constantPrimitive: Primitive<ConstantParams> = {
  name: 'constant',
  leaf: true,
  shape: (_inputs, params) => [params.data.length] as Shape, // replaced by the declared shape in `constant`
  evaluate: (_inputs, params) => params.data,
  vjp: () => [],
};
