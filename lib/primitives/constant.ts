// A constant: the leaf of every graph. Its data is copied in once and never mutated.

import type { Shape } from '../shape.ts';
import type { Primitive, Tensor } from '../tensor.ts';

export interface ConstantParams {
  readonly data: Float64Array;
}

export const constantPrimitive: Primitive<ConstantParams> = {
  name: 'constant',
  movesDataOnly: true,
  leaf: true,
  shape: (_inputs, params) => [params.data.length] as Shape, // replaced by the declared shape in `constant`
  evaluate: (_inputs, params) => params.data,
  vjp: () => [],
};

/** A constant node's data, known at trace time; undefined for any other node. */
export const constantDataOf = (node: Tensor): Float64Array | undefined =>
  node.primitive === constantPrimitive ? (node.params as ConstantParams).data : undefined;
